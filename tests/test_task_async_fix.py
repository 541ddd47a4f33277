"""OTP101's fix by what becomes of the task, the exit-signal cases shared with OTP102 and
OTP103, and fixed text (OTP101, OTP102, OTP601) that stays `mix format`-clean, checked with
Elixir's formatter."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from fix_helpers import findings, fix, project
from test_cli import run

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Fix, apply_edits
from otp_thinking.model import calls
from otp_thinking.project import scan
from otp_thinking.rules import task_async, task_async_stream
from otp_thinking.source import Source

SUPERVISED = "      {Task.Supervisor, name: Shop.Tasks},\n      Shop.Repo"

BUILDERS = {
    "OTP101": (("Task", "async"), task_async._fix),
    "OTP102": (
        ("Task", "async_stream"),
        lambda context, call, _site: task_async_stream._fix(context, call),
    ),
}


@dataclass
class Built:
    fix: Fix | None
    text: str


def built(root: Path, code: str, text: str) -> Built:
    """The fix the rule's fix builder makes for the first such call, whether or not the rule
    reports it (the builder must be right for every call it is given)."""
    path = root / "lib" / "shop" / "subject.ex"
    path.write_text(text, "utf-8")
    context = Context(Source(text, str(path)), project=scan(root))
    key, builder = BUILDERS[code]
    call = next(
        n
        for n in syntax.descendants(context.source.tree.root_node)
        if n.type == "call" and syntax.remote_target(n) == key
    )
    fix = builder(context, call, calls.site(call))
    return Built(fix, apply_edits(text, fix.edits_for(None)) if fix else text)


def server(body: str) -> str:
    """``body`` (a dedented function or two) inside a GenServer module."""
    indented = textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
    return (
        "defmodule Shop.Subject do\n  use GenServer\n\n"
        f"{indented}\n\n  def handle_info(_message, state), do: {{:noreply, state}}\nend\n"
    )


NEVER_AWAITED = server(
    """
    def handle_cast({:notify, pid}, state) do
      Task.async(fn -> send(pid, :done) end)
      {:noreply, state}
    end
    """
)

AWAITED = server(
    """
    def handle_call({:quote, amount}, _from, state) do
      task = Task.async(fn -> Shop.Supplier.quote(amount) end)
      {:reply, Task.await(task, 10_000), state}
    end
    """
)


def test_a_task_never_awaited_is_started_as_a_child_safely(tmp_path: Path) -> None:
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", NEVER_AWAITED)
    assert fixed.fix is not None and fixed.fix.safety == "safe"
    assert "never awaited" in fixed.fix.title
    assert "    Task.Supervisor.start_child(Shop.Tasks, fn -> send(pid, :done) end)\n" in fixed.text


def test_a_task_a_private_helper_returns_to_callers_that_drop_it_is_started_as_a_child(
    tmp_path: Path,
) -> None:
    text = (
        "defmodule Shop.FileSets do\n"
        "  def update(set) do\n"
        "    case Shop.Repo.update(set) do\n"
        "      {:ok, _} -> render(set)\n"
        "      other -> other\n"
        "    end\n\n"
        "    :ok\n"
        "  end\n\n"
        "  defp render(set), do: Task.async(fn -> Shop.Posters.render(set) end)\n"
        "end\n"
    )
    fixed = fix(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "never awaited" in fixed.finding.fix.title
    assert (
        "  defp render(set),\n"
        "    do: Task.Supervisor.start_child(Shop.Tasks, fn -> Shop.Posters.render(set) end)\n"
    ) in fixed.text


def test_a_task_written_elixir_task_keeps_the_prefix_past_the_files_own_task(
    tmp_path: Path,
) -> None:
    """`alias Shop.Board.Task` gives `Task` to the project's module: a fix writing
    `Task.Supervisor` would call Shop.Board.Task.Supervisor, which does not exist."""
    aliased = "  use GenServer\n  alias Shop.Board.Task\n"
    unlinked = NEVER_AWAITED.replace("  use GenServer\n", aliased).replace(
        "Task.async(", "Elixir.Task.async("
    )
    built_fix = built(project(tmp_path / "async", SUPERVISED), "OTP101", unlinked)
    assert "    Elixir.Task.Supervisor.start_child(Shop.Tasks, fn -> send(pid, :done) end)\n" in (
        built_fix.text
    )
    started = unlinked.replace("Elixir.Task.async(", "Elixir.Task.start(")
    fixed = fix(project(tmp_path / "start", SUPERVISED), "OTP103", started)
    assert "    Elixir.Task.Supervisor.start_child(Shop.Tasks, fn -> send(pid, :done) end)\n" in (
        fixed.text
    )


def test_a_task_bound_to_an_underscored_name_is_never_awaited(tmp_path: Path) -> None:
    text = NEVER_AWAITED.replace("Task.async(", "_task = Task.async(")
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert "_task = Task.Supervisor.start_child(Shop.Tasks, fn ->" in fixed.text


def test_a_task_ending_a_branch_whose_value_is_dropped_is_started_as_a_child(
    tmp_path: Path,
) -> None:
    """The task is the value of a ``with`` that the function drops (a statement before its
    last): never awaited, as the finding says, so the fix starts a child, not a nolink task
    whose reply and :DOWN nobody reads."""
    text = (
        "defmodule Shop.Setup do\n"
        "  def connect(opts, meta) do\n"
        "    with %{lease: id, ttl: ttl} <- meta do\n"
        "      Task.async(Shop.Vault, :renew, [id, ttl])\n"
        "    end\n\n"
        "    Shop.Conn.start_link(opts)\n"
        "  end\nend\n"
    )
    fixed = fix(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "never awaited" in fixed.finding.fix.title
    assert "Task.Supervisor.start_child(Shop.Tasks, Shop.Vault, :renew, [id, ttl])" in fixed.text


SUPERVISED_YIELDED = server(
    """
    def handle_info({:render, page}, state) do
      task = Task.Supervisor.async(Shop.Tasks, fn -> Shop.Diff.build(page) end)

      state =
        case Task.yield(task, 60_000) || Task.shutdown(task) do
          {:ok, diff} -> Map.put(state, page, diff)
          {:exit, _reason} -> Map.put(state, page, :failed)
          nil -> state
        end

      {:noreply, state}
    end
    """
)


def test_a_supervised_linked_task_whose_failure_is_handled_becomes_nolink_on_its_supervisor(
    tmp_path: Path,
) -> None:
    fixed = fix(project(tmp_path, SUPERVISED), "OTP101", SUPERVISED_YIELDED)
    assert "Task.Supervisor.async links the task" in fixed.finding.message
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "on the same supervisor" in fixed.finding.fix.title
    assert (
        "task = Task.Supervisor.async_nolink(Shop.Tasks, fn -> Shop.Diff.build(page) end)"
    ) in fixed.text
    assert fixed.application is None or fixed.application.count("Task.Supervisor") == 1


def test_a_supervised_linked_task_never_awaited_becomes_a_child_of_its_supervisor(
    tmp_path: Path,
) -> None:
    text = server(
        """
        def handle_cast({:warm, version}, state) do
          Shop.Tasks |> Task.Supervisor.async(Shop.Diff, :build, [version])
          {:noreply, state}
        end
        """
    )
    fixed = fix(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "Shop.Tasks |> Task.Supervisor.start_child(Shop.Diff, :build, [version])" in fixed.text


def test_an_awaited_task_gets_yield_and_shutdown_with_the_failure_as_a_value(
    tmp_path: Path,
) -> None:
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", AWAITED)
    assert fixed.fix is not None and fixed.fix.safety == "unsafe"
    assert "review what the caller does with {:error, reason}" in fixed.fix.title
    assert (
        "    task = Task.Supervisor.async_nolink(Shop.Tasks, fn -> Shop.Supplier.quote(amount) end)\n"
        "\n"
        "    result =\n"
        "      case Task.yield(task, 10_000) || Task.shutdown(task) do\n"
        "        {:ok, result} -> result\n"
        "        {:exit, reason} -> {:error, reason}\n"
        "        nil -> {:error, :timeout}\n"
        "      end\n"
        "\n"
        "    {:reply, result, state}\n"
    ) in fixed.text


@pytest.mark.parametrize(
    ("await_line", "expected"),
    [
        ("Task.await(task)", "    case Task.yield(task, 5000) || Task.shutdown(task) do\n"),
        ("quote = Task.await(task)", "    quote =\n      case Task.yield(task, 5000) ||"),
    ],
)
def test_an_await_statement_is_rewritten_in_place(
    tmp_path: Path, await_line: str, expected: str
) -> None:
    text = server(
        f"""
        def handle_cast(:go, state) do
          task = Task.async(fn -> :work end)
          {await_line}
          {{:noreply, state}}
        end
        """
    )
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert expected in fixed.text
    assert "Task.await" not in fixed.text


@pytest.mark.parametrize(
    "body",
    [
        # awaited inline: no variable to yield and shut down
        "{:reply, Task.async(fn -> :x end) |> Task.await(), state}",
        # awaited after a call that would then run later
        "task = Task.async(fn -> :x end)\n{:reply, {log(), Task.await(task)}, state}",
        # awaited in a branch
        "task = Task.async(fn -> :x end)\n{:reply, if(state, do: Task.await(task)), state}",
        # kept in the state: its reply and :DOWN reach handle_info
        "{:reply, :ok, Map.put(state, :task, Task.async(fn -> :x end))}",
    ],
)
def test_other_uses_get_an_unsafe_async_nolink_that_says_what_to_review(
    tmp_path: Path, body: str
) -> None:
    text = server(f"def handle_call(:go, _from, state) do\n{textwrap.indent(body, '  ')}\nend")
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.fix is not None and fixed.fix.safety == "unsafe"
    assert "now gets the task's crash as a :DOWN message" in fixed.fix.title
    assert "Task.Supervisor.async_nolink(Shop.Tasks, fn -> :x end)" in fixed.text
    assert "Task.yield" not in fixed.text
    # the await's caveat only where the code awaits
    assert ("(Task.await still exits it)" in fixed.fix.title) == ("Task.await" in body)


TRAPPING = """
def init(:ok) do
  Process.flag(:trap_exit, true)
  {:ok, %{}}
end

def handle_cast(:go, state) do
  Task.async(fn -> :work end)
  {:noreply, state}
end
"""


def test_a_module_that_traps_exits_gets_no_safe_fix(tmp_path: Path) -> None:
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", server(TRAPPING))
    assert fixed.fix is not None and fixed.fix.safety == "unsafe"
    assert "no longer gets the task's {:EXIT, ...}" in fixed.fix.title


@pytest.mark.parametrize(
    ("code", "call"),
    [
        ("OTP101", "Task.async(fn -> :work end)"),
        ("OTP102", "Task.async_stream([1], &work/1) |> Enum.to_list()"),
    ],
)
def test_no_fix_for_a_caller_that_waits_for_the_tasks_exit_signal(
    tmp_path: Path, code: str, call: str
) -> None:
    text = server(
        f"""
        def handle_cast(:go, state) do
          {call}
          {{:noreply, state}}
        end

        def handle_info({{:EXIT, _pid, reason}}, state), do: {{:noreply, [reason | state]}}

        def init(:ok) do
          Process.flag(:trap_exit, true)
          {{:ok, []}}
        end
        """
    )
    assert built(project(tmp_path, SUPERVISED), code, text).fix is None


@pytest.mark.parametrize(
    ("code", "call"),
    [("OTP101", "Task.async(fn -> warm() end)"), ("OTP103", "Task.start(fn -> warm() end)")],
)
def test_a_task_started_in_the_application_start_is_unsafe(
    tmp_path: Path, code: str, call: str
) -> None:
    text = (
        "defmodule Shop.Boot do\n  use Application\n\n  def start(_type, _args) do\n"
        f"    {call}\n    Supervisor.start_link([], strategy: :one_for_one)\n  end\n\n"
        "  def handle_info(_message, state), do: {:noreply, state}\nend\n"
    )
    found = findings(project(tmp_path, SUPERVISED), code, text)
    assert found and found[0].fix is not None
    assert found[0].fix.safety == "unsafe"
    assert "before the supervision tree" in found[0].fix.title


@pytest.mark.parametrize(
    ("code", "call"),
    [("OTP101", "Task.async(fn -> warm() end)"), ("OTP103", "Task.start(fn -> warm() end)")],
)
@pytest.mark.parametrize(
    ("start", "before"),
    [
        (
            "result = Supervisor.start_link([], strategy: :one_for_one)\n    {call}\n    result",
            False,
        ),
        (
            "case Supervisor.start_link([], strategy: :one_for_one) do\n"
            "      {{:ok, pid}} ->\n        {call}\n        {{:ok, pid}}\n\n"
            "      error ->\n        error\n    end",
            False,
        ),
        (
            "if Application.get_env(:shop, :web) do\n      Supervisor.start_link([], strategy: :one_for_one)\n"
            "    else\n      {call}\n      Supervisor.start_link([], strategy: :one_for_all)\n    end",
            True,
        ),
    ],
)
def test_a_task_started_after_the_tree_is_not_told_to_move(
    tmp_path: Path, code: str, call: str, start: str, before: bool
) -> None:
    """Once `Supervisor.start_link` has run on the way to the task, the Task.Supervisor the fix
    uses is running: the title must not say the task runs before the tree (a branch that did
    not start it is still before)."""
    text = (
        "defmodule Shop.Boot do\n  use Application\n\n  def start(_type, _args) do\n"
        f"    {start.format(call=call)}\n  end\n\n"
        "  def handle_info(_message, state), do: {:noreply, state}\nend\n"
    )
    found = findings(project(tmp_path, SUPERVISED), code, text)
    assert found and found[0].fix is not None
    assert ("before the supervision tree" in found[0].fix.title) == before


def test_comments_and_multi_line_arguments_are_kept(tmp_path: Path) -> None:
    text = server(
        """
        def handle_cast(:go, state) do
          Task.async(
            # the slow part
            fn -> work() end
          )
          {:noreply, state}
        end
        """
    )
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert (
        "    Task.Supervisor.start_child(\n      Shop.Tasks,\n"
        "      # the slow part\n      fn -> work() end\n    )\n"
    ) in fixed.text


LONG_LINES = {
    "assignment": server(
        """
        def handle_call({:quote, amount}, _from, state) do
          task = Task.async(fn -> Shop.Supplier.quote_with_a_long_name(amount, state.currency) end)
          {:reply, Task.await(task), state}
        end
        """
    ),
    "statement": server(
        """
        def handle_cast({:notify, pid}, state) do
          state = Map.put(state, :notified, true)
          Task.async(fn -> send(pid, {:notified, Shop.Supplier.quote_with_a_long_name(1)}) end)
          {:noreply, state}
        end
        """
    ),
    "arguments": server(
        """
        def handle_cast({:notify, pid}, state) do
          Task.async(Shop.Supplier.NotificationsWithLongName, :deliver_now, [pid, state.to])
          {:noreply, state}
        end
        """
    ),
    "do_body": server(
        """
        def handle_cast(:go, state), do: Task.start(fn -> Shop.Mailer.deliver_welcome(state) end)
        """
    ),
    "fn_body": server(
        """
        def handle_cast({:each, users}, state) do
          Enum.each(users, fn user -> Task.start(fn -> Shop.Mailer.deliver_welcome(user) end) end)
          {:noreply, state}
        end
        """
    ),
    "fn_body_piped": server(
        """
        def handle_info(:prune, state) do
          state.peers
          |> Map.keys()
          |> Enum.each(fn peer_id -> Task.start(Shop.Peers, :challenge_peer, [peer_id]) end)

          {:noreply, state}
        end
        """
    ),
    "fn_body_assigned": server(
        """
        def handle_cast({:each, users}, state) do
          started = Enum.map(users, fn u -> Task.start(fn -> Shop.Mailer.deliver(u) end) end)
          {:noreply, Map.put(state, :started, started)}
        end
        """
    ),
    "element": server(
        """
        def handle_call(:both, _from, state) do
          tasks = [
            Task.async(fn -> Shop.Supplier.quote_with_a_long_name(state.amount, :eur) end),
            Task.async(fn -> Shop.Supplier.quote_with_a_long_name(state.amount, :usd) end)
          ]

          {:reply, tasks, state}
        end
        """
    ),
    "pipeline": server(
        """
        def handle_call(:all, _from, state) do
          results =
            state.items
            |> Enum.uniq()
            |> Task.async_stream(&Shop.Fetch.run/1, max_concurrency: 8, timeout: 10_000)
            |> Enum.to_list()

          {:reply, results, state}
        end
        """
    ),
    "pipeline_fn": server(
        """
        def handle_call(:all, _from, state) do
          state.items
          |> Enum.uniq()
          |> Task.async_stream(&Shop.Fetch.run(&1, state.options), max_concurrency: 8)
          |> Enum.to_list()
        end
        """
    ),
    "pipeline_head": server(
        """
        def handle_call(:all, _from, state) do
          vehicles =
            state.vehicles
            |> Task.async_stream(&Shop.Fleet.preload_vehicle(&1, state.auth), timeout: 32_500)
            |> Enum.map(fn {:ok, vehicle} -> vehicle end)

          {:reply, vehicles, state}
        end
        """
    ),
    "pipeline_multiline": server(
        """
        def handle_call(:all, _from, state) do
          state.items
          |> Enum.reject(&is_nil/1)
          |> Task.async_stream(fn item -> {item, Shop.Fetch.run(item, state.options)} end,
            max_concurrency: 10,
            ordered: false
          )
          |> Enum.to_list()
        end
        """
    ),
    "ets": server(
        """
        def init(_opts) do
          table = :ets.new(:shop_prices, [:public, :named_table, decentralized_counters: true])
          {:ok, table}
        end

        def price(sku), do: :ets.lookup(:shop_prices, sku)
        """
    ),
    "stream": server(
        """
        def handle_call(:all, _from, state) do
          results = Task.async_stream(state.items, &Shop.Fetch.run/1, max_concurrency: 8, timeout: 10)
          {:reply, Enum.to_list(results), state}
        end
        """
    ),
}


def _formatter_rejects(texts: dict[str, str], tmp_path: Path) -> str:
    """The names of the texts Elixir's formatter would change, with what it would write."""
    paths = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = tmp_path / f"{name}.ex"
        path.write_text(text, "utf-8")
        paths.append(str(path))
    script = (
        "Enum.each(System.argv(), fn p -> src = File.read!(p); "
        'out = IO.iodata_to_binary(Code.format_string!(src)) <> "\\n"; '
        'if out != src, do: IO.puts(p <> ":\\n" <> out) end)'
    )
    run = subprocess.run(
        ["elixir", "-e", script, *paths], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.skipif(shutil.which("elixir") is None, reason="elixir is not on PATH")
def test_fixed_text_stays_mix_format_clean(tmp_path: Path) -> None:
    fixed = {}
    for name, text in LONG_LINES.items():
        code = {"ets": "OTP601", "do_body": "OTP103"}.get(name, "OTP101")
        code = "OTP103" if name.startswith("fn_body") else code
        code = "OTP102" if name.startswith(("stream", "pipeline")) else code
        root = project(tmp_path / name, SUPERVISED)
        made = built(root, code, text) if code in BUILDERS else fix(root, code, text)
        fixed[name] = made.text
    originals = _formatter_rejects(LONG_LINES, tmp_path / "before")
    assert originals == ""
    assert _formatter_rejects(fixed, tmp_path) == ""
    assert all(len(line) <= 98 for text in fixed.values() for line in text.splitlines())


NEIGHBOURS = server(
    """
    def handle_cast(:a, state), do: Task.start(fn -> Shop.Mailer.deliver_welcome(state.user) end)
    def handle_cast(:b, state), do: Task.start(fn -> Shop.Mailer.deliver_goodbye(state.user) end)
    """
)


def test_fixes_of_neighbouring_statements_leave_one_blank_line_between(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    path = root / "lib" / "shop" / "subject.ex"
    path.write_text(NEIGHBOURS, "utf-8")
    done = run("check", "--fix", "--select", "OTP103", ".", cwd=root)
    assert "Fixed 2 findings" in done.stderr, done.stdout + done.stderr
    fixed = path.read_text("utf-8")
    assert "\n\n\n" not in fixed
    assert "state.user) end)\n\n  def handle_cast(:b, state),\n    do: " in fixed


def test_a_discarded_task_whose_reply_handle_info_reads_keeps_sending_it(tmp_path: Path) -> None:
    text = NEVER_AWAITED.replace(
        "  def handle_info(_message, state), do: {:noreply, state}",
        "  def handle_info({ref, result}, state) when is_reference(ref),\n"
        "    do: {:noreply, Map.put(state, :result, result)}",
    )
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.fix is not None and fixed.fix.safety == "unsafe"
    assert "Task.Supervisor.async_nolink(Shop.Tasks, fn -> send(pid, :done) end)" in fixed.text


STATE_MACHINE = """\
defmodule Shop.Subject do
  @behaviour :gen_statem

  def callback_mode, do: :handle_event_function

  def handle_event(:internal, :refresh, _state, data) do
    Task.async(fn -> Shop.Remote.fetch(data.id) end)
    :keep_state_and_data
  end

  {receiver}
end
"""


@pytest.mark.parametrize(
    "receiver",
    [
        "def handle_event(:info, {ref, fetched}, _state, data) when is_reference(ref),\n"
        "    do: {:keep_state, Map.put(data, :fetched, fetched)}",
        "def ready(:info, {:DOWN, _ref, :process, _pid, _reason}, _data), do: :keep_state_and_data",
    ],
    ids=["handle_event reply", "state function DOWN"],
)
def test_a_state_machine_reading_the_discarded_tasks_messages_keeps_getting_them(
    tmp_path: Path, receiver: str
) -> None:
    """A ``:gen_statem`` receives the task's reply in ``handle_event(:info, ..)`` or a state
    function: the task is not turned into a started child, which would send nothing."""
    text = STATE_MACHINE.format(receiver=receiver)
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert fixed.fix is not None and fixed.fix.safety == "unsafe"
    assert "Task.Supervisor.async_nolink(Shop.Tasks, fn -> Shop.Remote.fetch(data.id) end)" in (
        fixed.text
    )


def test_a_state_machine_ignoring_task_messages_gets_a_started_child(tmp_path: Path) -> None:
    receiver = "def handle_event(:info, :tick, _state, _data), do: :keep_state_and_data"
    fixed = built(project(tmp_path, SUPERVISED), "OTP101", STATE_MACHINE.format(receiver=receiver))
    assert "Task.Supervisor.start_child(Shop.Tasks, fn -> Shop.Remote.fetch(data.id) end)" in (
        fixed.text
    )


YIELDED = server(
    """
    def handle_call({:quote, amount}, _from, state) do
      task = Task.async(fn -> Shop.Supplier.quote(amount) end)

      case Task.yield(task, 1_000) || Task.shutdown(task) do
        {:ok, quote} -> {:reply, quote, state}
        {:exit, reason} -> {:reply, {:error, reason}, state}
        nil -> {:reply, {:error, :timeout}, state}
      end
    end
    """
)


def test_a_yielded_task_whose_failure_clause_exists_is_safely_unlinked(tmp_path: Path) -> None:
    fixed = fix(project(tmp_path, SUPERVISED), "OTP101", YIELDED)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "now reaches the {:exit, reason} clause" in fixed.finding.fix.title
    assert "task = Task.Supervisor.async_nolink(Shop.Tasks, fn -> Shop.Supplier" in fixed.text
    assert "case Task.yield(task, 1_000) || Task.shutdown(task) do" in fixed.text


def test_a_yielded_task_without_a_failure_clause_is_unsafe(tmp_path: Path) -> None:
    lines = [line for line in YIELDED.splitlines(keepends=True) if "{:exit, reason}" not in line]
    text = "".join(lines).replace("{:ok, quote}", "{:ok, quote} when quote > 0")
    made = built(project(tmp_path, SUPERVISED), "OTP101", text)
    assert made.fix is not None and made.fix.safety == "unsafe"
    assert "review what handles the {:exit, reason}" in made.fix.title


LINKED_STARTS = server(
    """
    def handle_cast({:close, conns}, state) do
      Enum.each(conns, fn conn -> Task.start_link(Shop.Conn, :close, [conn]) end)
      {:noreply, state}
    end

    def handle_info({:handoff, data}, state) do
      {:ok, _pid} = Task.start_link(fn -> Shop.Store.insert(data) end)
      {:noreply, state}
    end
    """
)


def test_a_linked_start_whose_pid_nobody_keeps_becomes_a_supervised_child(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, SUPERVISED)
    first = fix(root, "OTP101", LINKED_STARTS, 0)
    second = fix(root, "OTP101", LINKED_STARTS, 1)
    for fixed in (first, second):
        assert fixed.finding.message.startswith("Task.start_link links this task to the process")
        assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
        assert "(nothing keeps the task's pid)" in fixed.finding.fix.title
    assert "Task.Supervisor.start_child(Shop.Tasks, Shop.Conn, :close, [conn])" in first.text
    assert "{:ok, _pid} = Task.Supervisor.start_child(Shop.Tasks, fn ->" in second.text


def test_a_linked_start_without_a_task_supervisor_adds_one_to_the_application(
    tmp_path: Path,
) -> None:
    fixed = fix(project(tmp_path), "OTP101", LINKED_STARTS, 1)
    assert fixed.application is not None
    assert "{Task.Supervisor, name: Shop.TaskSupervisor}" in fixed.application
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor, fn ->" in fixed.text


LIVE_VIEW_NOLINK = """\
defmodule ShopWeb.PlanLive do
  use ShopWeb, :live_view

  def handle_event("apply", _params, socket) do
    Task.Supervisor.async_nolink(Shop.Tasks, fn -> Shop.Plans.apply(socket.assigns.plan) end)
    {:noreply, socket}
  end

  def handle_info({:output, line}, socket), do: {:noreply, assign(socket, :line, line)}
  def handle_info(_message, socket), do: {:noreply, socket}
end
"""


def test_an_unawaited_nolink_task_names_the_catch_all_that_drops_its_messages(
    tmp_path: Path,
) -> None:
    """The task's reply and :DOWN are taken by the catch-all clause, and dropped: the message
    says so instead of claiming that nothing reads them."""
    root = project(tmp_path, SUPERVISED)
    (finding,) = findings(root, "OTP101", LIVE_VIEW_NOLINK)
    line = LIVE_VIEW_NOLINK.splitlines().index(
        "  def handle_info(_message, socket), do: {:noreply, socket}"
    )
    assert f"the catch-all handle_info/2 on line {line + 1} only drops" in finding.message
    assert "nothing reads" not in finding.message
    without = LIVE_VIEW_NOLINK.replace(
        "  def handle_info(_message, socket), do: {:noreply, socket}\n", ""
    )
    (plain,) = findings(root, "OTP101", without)
    assert "a reply and a :DOWN message that nothing reads" in plain.message
