"""Module facts (`otp_thinking.model.modules`) and callback state flow (`otp_thinking.callbacks`)."""

from __future__ import annotations

import textwrap

from otp_thinking import callbacks, syntax
from otp_thinking.context import Context
from otp_thinking.model import modules
from otp_thinking.model.modules import request_tags
from otp_thinking.source import Source


def _context(code: str) -> Context:
    return Context(Source(textwrap.dedent(code), "lib/shop/example.ex"))


SERVER = """\
defmodule Shop.Server do
  use GenServer, restart: :transient
  @behaviour Shop.Plugin

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)
    :ets.new(:shop, [:named_table])
    Phoenix.PubSub.subscribe(Shop.PubSub, "orders")
    Process.send_after(self(), :tick, 1_000)
    {:ok, %{opts: opts}, {:continue, :load}}
  end

  def handle_call(:get, _from, state), do: {:reply, state.opts, state}
  def handle_call({:put, v}, _from, state) when is_map(v), do: {:reply, :ok, %{state | opts: v}}
  def handle_cast(:ping, state), do: {:noreply, state}
  def handle_continue(:load, state), do: {:noreply, state}

  def handle_info({:DOWN, _, _, pid, _}, state) do
    Process.monitor(pid)
    Process.flag(:priority, :high)
    {:noreply, state}
  end

  defp helper(x), do: x

  defmodule Inner do
    use Agent
    def get, do: Agent.get(__MODULE__, & &1)
  end
end
"""


def test_module_names_uses_and_behaviours() -> None:
    context = _context(SERVER)
    outer, inner = modules.of(context)
    assert outer.name == "Shop.Server" and inner.name == "Shop.Server.Inner"
    assert [u.alias for u in outer.uses] == ["GenServer"]
    assert outer.behaviours == ["Shop.Plugin"]
    assert outer.is_genserver and not outer.is_agent
    assert inner.is_agent and not inner.is_genserver
    assert syntax.text(outer.anchor) == "use GenServer, restart: :transient"


def test_clauses_by_name_and_arity_exclude_nested_modules() -> None:
    outer, inner = modules.of(_context(SERVER))
    assert [c.arity for c in outer.functions("handle_call")] == [3, 3]
    assert outer.functions("handle_call", 3)[1].guard is not None
    assert [c.name for c in outer.state_callbacks] == [
        "handle_call",
        "handle_call",
        "handle_cast",
        "handle_continue",
        "handle_info",
    ]
    assert outer.functions("helper", 1)[0].private
    assert not outer.defines("get") and inner.defines("get")


def test_init_return_shape() -> None:
    (init,) = modules.of(_context(SERVER))[0].init_returns
    assert init.kind == "ok_continue"
    assert init.state is not None and syntax.text(init.state) == "%{opts: opts}"


def test_resources_by_kind() -> None:
    outer = modules.of(_context(SERVER))[0]
    kinds = sorted(r.kind for r in outer.resources)
    # Process.flag(:priority, ...) is not a resource; the inner Agent owns nothing.
    assert kinds == ["ets", "monitor", "subscription", "timer", "trap_exit"]
    assert outer.owns("timer") and not outer.owns("port")
    monitor = next(r for r in outer.resources if r.kind == "monitor")
    assert monitor.clause is not None and monitor.clause.name == "handle_info"


def test_facts_are_gathered_once_per_analysis() -> None:
    context = _context(SERVER)
    assert modules.of(context) is modules.of(context)
    assert context.cache["modules"] is modules.of(context)


def test_module_at_finds_the_innermost_module() -> None:
    context = _context(SERVER)
    inner = modules.of(context)[1]
    node = inner.functions("get", 0)[0].node
    assert modules.at(context, node) is inner


def test_half_written_module_keeps_the_clauses_after_the_error() -> None:
    context = _context(
        """\
        defmodule Shop.Half do
          use GenServer
          def init(_), do: {:ok, nil}
          def broken(x) do
            x = (1 +
          end
          def handle_call(:get, _from, state), do: {:reply, state, state}
        end
        defmodule Shop.Next do
          def other, do: :ok
        end
        """
    )
    assert context.source.has_errors()
    half, following = modules.of(context)
    assert half.is_genserver
    assert half.functions("handle_call", 3)
    assert not half.defines("other") and following.defines("other")


def test_code_inside_quote_belongs_to_no_module() -> None:
    context = _context(
        """\
        defmodule Shop.Using do
          defmacro __using__(_) do
            quote do
              use GenServer
              def handle_call(:x, _from, s), do: {:reply, :ok, s}
            end
          end
        end
        """
    )
    (module,) = modules.of(context)
    assert not module.is_genserver and not module.defines("handle_call")


def _flow(code: str) -> callbacks.StateFlow:
    module = modules.of(_context(f"defmodule M do\n{code}\nend\n"))[0]
    return callbacks.state_flow(module.state_callbacks[0])


def test_state_flow_pass_through_is_not_a_read() -> None:
    flow = _flow("def handle_call(:x, _from, state), do: {:reply, 1, state}")
    assert not flow.reads and flow.keeps_state and flow.stores_nothing


def test_state_flow_reads_and_changes() -> None:
    read = _flow("def handle_call(:x, _from, state), do: {:reply, state.a, state}")
    assert read.reads and read.keeps_state
    matched = _flow("def handle_cast(:x, %{a: 1} = state), do: {:noreply, state}")
    assert matched.reads
    changed = _flow("def handle_cast({:set, v}, _state), do: {:noreply, v}")
    assert not changed.reads and not changed.stores_nothing


def test_state_flow_rebinding_is_a_change() -> None:
    flow = _flow(
        """
        def handle_call(:x, _from, state) do
          state = Map.put(state, :a, 1)
          {:reply, :ok, state}
        end
        """
    )
    assert flow.rebinds and not flow.keeps_state


def test_state_flow_follows_case_branches() -> None:
    flow = _flow(
        """
        def handle_call({:x, v}, _from, state) do
          case v do
            1 -> {:reply, :one, state}
            _ -> {:stop, :normal, :other, state}
          end
        end
        """
    )
    assert [r.tag for r in flow.returns] == ["reply", "stop"]
    assert flow.keeps_state


def test_unknown_returns_are_not_kept_state() -> None:
    flow = _flow("def handle_call(msg, _from, state), do: Impl.handle(msg, state)")
    assert not flow.returns_known and not flow.keeps_state


def _set_at_start(code: str) -> bool:
    module = modules.of(_context(f"defmodule M do\n{code}\nend\n"))[0]
    return callbacks.set_only_at_start(module)


def test_state_set_only_at_start() -> None:
    """Every callback hands the state back; a handle_continue/2 only init/1 asks for may set
    it; a continue asked for later, a changed state or an unread return is a change."""
    assert _set_at_start(
        """
        def init(_), do: {:ok, nil, {:continue, :load}}
        def handle_continue(:load, _), do: {:noreply, load()}
        def handle_call(:get, _from, state), do: {:reply, state, state}
        def handle_info(_msg, state), do: {:noreply, state}
        """
    )
    assert not _set_at_start(
        """
        def handle_continue(:load, _), do: {:noreply, load()}
        def handle_call(:reload, _from, state), do: {:reply, :ok, state, {:continue, :load}}
        """
    )
    assert not _set_at_start("def handle_cast({:set, v}, _state), do: {:noreply, v}")
    assert not _set_at_start("def handle_info(msg, state), do: handle(msg, state)")
    assert _set_at_start("defp handle_info(msg, state), do: handle(msg, state)")


def test_effects_follow_local_functions() -> None:
    module = modules.of(
        _context(
            """\
            defmodule M do
              def handle_call(:x, _from, s), do: {:reply, write(), s}
              def handle_call(:y, _from, s), do: {:reply, Enum.sum([1]), s}
              defp write, do: File.write!("a", "b")
            end
            """
        )
    )[0]
    writes, pure = module.functions("handle_call", 3)
    assert callbacks.has_effects(module, writes)
    assert not callbacks.has_effects(module, pure)


def test_request_tags_bound_by_a_guard_are_the_atoms_it_allows() -> None:
    """``handle_call({op, args}, from, state) when op in [:write, :append]`` answers both
    requests; ``when op == :read`` one; an unbounded variable none."""
    text = (
        "defmodule Shop.Orders do\n  use GenServer\n"
        "  def handle_call({op, x}, from, s) when op in [:write, :append], do: {:noreply, s}\n"
        "  def handle_call({op, x}, from, s) when op == :read or op == :scan, do: {:noreply, s}\n"
        "  def handle_call({:get, x}, _from, s), do: {:reply, x, s}\n"
        "  def handle_call({op, x}, _from, s), do: {:reply, op, s}\n"
        "end\n"
    )
    [module] = modules.of(_context(text))
    assert [request_tags(c) for c in module.functions("handle_call", 3)] == [
        ("write", "append"),
        ("read", "scan"),
        ("get",),
        (),
    ]
    assert module.deferred_requests == frozenset({"write", "append", "read", "scan"})
