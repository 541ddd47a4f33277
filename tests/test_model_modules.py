"""The model's module facts read from syntax: what a module ``use``s (with its options) and the
full names of nested modules, on small snippets and half-written buffers."""

from __future__ import annotations

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import modules
from otp_thinking.model.summary import summarize
from otp_thinking.parsing import parse
from otp_thinking.source import Source


def defmodules(code: str) -> list[Node]:
    root = parse(code.encode()).root_node
    return [n for n in [root, *syntax.descendants(root)] if syntax.is_defmodule(n)]


SERVER = """
defmodule Shop.Cart do
  use GenServer, restart: :temporary
  use Shop.Web, :controller
  use unquote(base)

  def init(arg) do
    use NotInTheBody
    {:ok, arg}
  end
end
"""


def test_uses_in_the_module_body_in_order() -> None:
    (module,) = defmodules(SERVER)
    found = modules.uses(module)
    assert [use.alias for use in found] == ["GenServer", "Shop.Web"]
    assert modules.used(module) == ["GenServer", "Shop.Web"]
    assert syntax.text(found[0].option("restart")) == ":temporary"
    assert found[0].option("shutdown") is None
    assert found[1].option("restart") is None  # `:controller` is no keyword list


def test_read_use_decodes_one_call() -> None:
    root = parse(b"use Oban.Worker, queue: :mail\nimport Ecto\nuse unquote(x)\n").root_node
    calls = root.named_children
    use = modules.read_use(calls[0])
    assert use is not None and use.alias == "Oban.Worker"
    assert syntax.text(use.option("queue")) == ":mail"
    assert modules.read_use(calls[1]) is None
    assert modules.read_use(calls[2]) is None


def test_module_without_uses() -> None:
    (module,) = defmodules("defmodule Plain do\n  def f, do: 1\nend\n")
    assert modules.uses(module) == []


def test_half_written_module_body() -> None:
    code = "defmodule Shop.Worker do\n  use GenServer\n\n  def init(arg) do\n    {:ok,\n"
    (module,) = defmodules(code)
    assert modules.used(module) == []  # the `defmodule` call kept no body
    error = next(n for n in syntax.descendants(parse(code.encode()).root_node) if n.type == "ERROR")
    assert modules.used(error) == ["GenServer"]  # the body tree-sitter put in an ERROR node


NESTED = """
defmodule Shop do
  defmodule Cart.Item do
    def price(item), do: item.price
  end

  if Code.ensure_loaded?(Mix) do
    defmodule Mix.Tasks.Seed do
      def run(_), do: :ok
    end
  end
end

defmodule unquote(name) do
  defmodule Inner do
  end
end
"""


def test_full_names_of_nested_modules() -> None:
    shop, item, task, computed, inner = defmodules(NESTED)
    assert modules.full_name(shop) == "Shop"
    assert modules.full_name(item) == "Shop.Cart.Item"
    assert modules.full_name(task) == "Shop.Mix.Tasks.Seed"
    assert modules.full_name(inner) == "Inner"  # the unnamed part left out
    assert modules.known_name(item) == "Shop.Cart.Item"
    assert modules.known_name(computed) is None
    assert modules.known_name(inner) is None  # a module around it has no alias name


def test_path_at_a_node() -> None:
    shop, item, *_ = defmodules(NESTED)
    body = syntax.do_block(item)
    assert body is not None
    assert modules.path_at(body.named_children[0]) == "Shop.Cart.Item"
    assert modules.path_at(item) == "Shop"
    assert modules.path_at(shop) == ""
    assert modules.nested_name("Shop", "Cart.Item") == "Shop.Cart.Item"
    assert modules.nested_name(None, "Shop") == "Shop"


def test_mix_modules() -> None:
    code = "defmodule Mix.Tasks.Seed do\n  def run(_), do: Repo.all(X)\nend\n"
    (task,) = defmodules(code)
    body = syntax.do_block(task)
    assert body is not None and modules.in_mix_module(body.named_children[0])
    (shop, *_) = defmodules(NESTED)
    assert not modules.in_mix_module(syntax.do_block(shop) or shop)


def test_half_written_nested_module_keeps_its_name() -> None:
    code = "defmodule Shop do\n  defmodule Cart do\n    def add(x), do: x\n  end\n"
    shop, cart = defmodules(code)  # the outer `end` not typed yet
    assert modules.full_name(cart) == "Shop.Cart"


def test_server_kind_by_use_or_behaviour() -> None:
    assert modules.server_kind(["GenServer"], []) == "gen_server"
    assert modules.server_kind([], [":gen_server"]) == "gen_server"
    assert modules.server_kind([], ["GenServer"]) == "gen_server"
    assert modules.server_kind(["GenStateMachine"], []) == "gen_statem"
    assert modules.server_kind([], [":gen_statem"]) == "gen_statem"
    assert modules.server_kind(["Agent", "Supervisor"], [":supervisor"]) is None


ALIASES = """
defmodule Shop.Checkout do
  alias Shop.Repo
  alias Shop.Accounts.User, as: Customer
  alias Shop.{Cart, Billing.Invoice}
  alias __MODULE__.Step
  alias __MODULE__.{Totals}
  alias __MODULE__, as: Checkout

  def run, do: Repo.all(Customer)
end
"""


def test_aliases_in_every_spelling() -> None:
    (module,) = defmodules(ALIASES)
    known = modules.aliases(module)
    assert known == {
        "Repo": "Shop.Repo",
        "Customer": "Shop.Accounts.User",
        "Cart": "Shop.Cart",
        "Invoice": "Shop.Billing.Invoice",
        "Step": "Shop.Checkout.Step",
        "Totals": "Shop.Checkout.Totals",
        "Checkout": "Shop.Checkout",
    }
    assert modules.expand("Repo.all", known) == "Shop.Repo.all"
    assert modules.expand("Customer", known) == "Shop.Accounts.User"
    assert modules.expand(":ets", known) == ":ets"
    assert modules.expand("Unknown.Thing", known) == "Unknown.Thing"


def test_read_alias_keeps_what_is_written() -> None:
    root = parse(b"alias Repo, as: R\nalias Shop.{Cart}\nimport Shop\nalias\n").root_node
    found = [modules.read_alias(call) for call in root.named_children]
    assert found[0] == [("Repo", "R")]
    assert found[1] == [("Shop.Cart", None)]
    assert found[2] == []
    assert found[3] == []  # a half-written `alias`
    outside = parse(b"alias __MODULE__.State\n").root_node.named_children[0]
    assert modules.read_alias(outside) == []  # no module to stand for
    assert modules.read_alias(outside, "Shop.Cart") == [("Shop.Cart.State", None)]
    assert modules.short_name("Shop.Cart", None) == "Cart"
    assert modules.short_name("Shop.Repo", "R") == "R"


STOPS = """\
defmodule Shop.Drain do
  use GenServer

  def handle_info(:next, q), do: next(q)
  def handle_cast(:check, q) do
    if done?(q), do: halt(q)
    {:noreply, q}
  end

  defp next(q), do: if(Shop.Queue.empty?(q), do: {:stop, :shutdown, q}, else: {:noreply, q})
  defp halt(q), do: {:stop, :normal, q}
end
"""


def test_where_a_server_ends_itself_normally() -> None:
    """Returned by a callback or by a helper it returns; a tuple built and dropped ends
    nothing (`halt/1` here)."""
    (module,) = summarize(Source(STOPS, "lib/shop/drain.ex"), "lib/shop/drain.ex").modules
    assert module.stops_normally == "{:stop, :shutdown, ...} in next/1, line 10"
    dropped = STOPS.replace("next(q)\n", "{:noreply, q}\n", 1)
    (module,) = summarize(Source(dropped, "lib/shop/drain.ex"), "lib/shop/drain.ex").modules
    assert module.stops_normally == ""


def test_an_alias_naming_a_project_module_registry_is_no_use_of_elixirs_registry() -> None:
    """`alias Mydia.Downloads.Client.Registry` makes `Registry.register(:http, ..)` a call to
    the project's module, not a use of a process registry named `:http`; where no alias
    shadows it, `Registry` is Elixir's."""
    text = (
        "defmodule Mydia.Downloads do\n"
        "  alias Mydia.Downloads.Client.Registry\n"
        "  def setup, do: Registry.register(:qbittorrent, Mydia.Downloads.Client.Qbittorrent)\n"
        "end\n"
        "defmodule Mydia.Other do\n"
        "  def f, do: Registry.lookup(Mydia.Names, :key)\n"
        "end\n"
    )
    summary = summarize(Source(text, "lib/mydia/downloads.ex"), "lib/mydia/downloads.ex")
    assert [(use.kind, use.name) for use in summary.uses] == [("registry", "Mydia.Names")]
    assert [(c.caller, c.target, c.function) for c in summary.calls] == [
        ("Mydia.Downloads", "Mydia.Downloads.Client.Registry", "register")
    ]


def test_a_call_through_module_dot_sub_is_a_call_to_the_modules_own_sub() -> None:
    """`__MODULE__.Client.users()` in `Air.Ldap` calls `Air.Ldap.Client.users`, for the call
    graph and for what the function does; `mod.Client.f()` on a variable names no module."""
    text = (
        "defmodule Air.Ldap do\n"
        "  def sync, do: __MODULE__.Client.users()\n"
        "  def other(mod), do: mod.Client.users()\n"
        "end\n"
    )
    summary = summarize(Source(text, "lib/air/ldap.ex"), "lib/air/ldap.ex")
    assert [(c.caller, c.target, c.function) for c in summary.calls] == [
        ("Air.Ldap", "Air.Ldap.Client", "users")
    ]


def test_takes_any_message_is_a_catch_all_handle_info() -> None:
    code = (
        "defmodule A do\n  def handle_info(:tick, s), do: {:noreply, s}\n"
        "  def handle_info(_other, s), do: {:noreply, s}\nend\n"
        "defmodule B do\n  def handle_info({:DOWN, _, _, _, _}, s), do: {:noreply, s}\n"
        "  def handle_info(msg, _s, t), do: {:ok, msg, t}\nend\n"
    )
    summary = summarize(Source(code, "lib/a.ex"), "lib/a.ex")
    taking = {module.name: module.takes_any_message for module in summary.modules}
    assert taking == {"A": True, "B": False}
