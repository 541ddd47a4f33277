"""The call-rewriting fixes on real Mix apps (``tests/apps/rw_*``), booted before and after
``check --fix --unsafe-fixes``: each app still compiles, boots and stays ``mix format``-clean,
and behaves as the fix's title says — a crashing task no longer takes its GenServer down, a
task nobody awaited sends its caller nothing, a server whose state moved to
``handle_continue/2`` answers with it, a caller waiting for a task's ``{:EXIT, ..}`` does
not hang, and long one-line bodies are rewritten as `mix format` lays them out."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import mix_apps
import pytest

pytestmark = mix_apps.needs_mix

BOOT_TIMEOUT = 90


@dataclass
class Booted:
    before: str
    after: str
    fixed: subprocess.CompletedProcess[str]
    app: Path
    formatted_before: bool
    formatted_after: subprocess.CompletedProcess[str]


def _run(app: Path, expression: str) -> str:
    try:
        done = mix_apps.mix(app, "run", "-e", expression, timeout=BOOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{app.name} hung: `mix run` took more than {BOOT_TIMEOUT} s")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _boot_fix_boot(name: str, expression: str, tmp_path: Path) -> Booted:
    app = mix_apps.copy_app(name, tmp_path)
    formatted_before = mix_apps.formatted(app).returncode == 0
    before = _run(app, expression)
    fixed = mix_apps.fix(app)
    after = _run(app, expression)
    return Booted(before, after, fixed, app, formatted_before, mix_apps.formatted(app))


def _said(output: str) -> dict[str, str]:
    """``key: value`` lines the boot expression printed (a lower-case key of words; the
    logger's reports of the crashing tasks are left out)."""
    said = (re.fullmatch(r"([a-z][a-z ]*): (.*)", line) for line in output.splitlines())
    return {m.group(1): m.group(2) for m in said if m is not None and m.group(1) != "child"}


AWAIT_PROBE = """
server = Process.whereis(RwAwait.Quotes)
IO.puts("quote: " <> inspect(GenServer.call(RwAwait.Quotes, {:quote, 21})))

crash =
  try do
    case GenServer.call(RwAwait.Quotes, {:quote, -1}) do
      {:error, _reason} -> :error_value
      other -> other
    end
  catch
    :exit, _ -> :caller_exited
  end

IO.puts("crash: " <> inspect(crash))
Process.sleep(100)
IO.puts("same server: " <> inspect(Process.whereis(RwAwait.Quotes) == server))
GenServer.cast(RwAwait.Quotes, {:notify, self()})

receive do
  {:notified, n} -> IO.puts("notified: #{n}")
after
  2000 -> IO.puts("notified: none")
end

Process.sleep(100)
IO.puts("stray: " <> inspect(GenServer.call(RwAwait.Quotes, :stray)))
audited = Process.whereis(RwAwait.Quotes)
GenServer.cast(RwAwait.Quotes, {:audit, -1})
Process.sleep(200)
IO.puts("audit kept the server: " <> inspect(Process.whereis(RwAwait.Quotes) == audited))
for {id, _, _, _} <- Supervisor.which_children(RwAwait.Supervisor), do: IO.puts("child: " <> inspect(id))
"""


@pytest.fixture(scope="module")
def awaiting(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_await", AWAIT_PROBE, tmp_path_factory.mktemp("await"))


def test_awaited_task_crash_no_longer_takes_the_server_down(awaiting: Booted) -> None:
    before, after = _said(awaiting.before), _said(awaiting.after)
    assert (before["crash"], before["same server"]) == (":caller_exited", "false")
    assert (after["crash"], after["same server"]) == (":error_value", "true")
    assert before["quote"] == after["quote"] == "42"


def test_a_task_nobody_awaits_sends_its_caller_nothing_once_started_as_a_child(
    awaiting: Booted,
) -> None:
    before, after = _said(awaiting.before), _said(awaiting.after)
    assert before["notified"] == after["notified"] == "2"
    assert before["stray"] == "2"  # the task's reply and :DOWN, which the server never wanted
    assert after["stray"] == "0"
    source = (awaiting.app / "lib" / "rw_await" / "quotes.ex").read_text("utf-8")
    assert "Task.Supervisor.start_child(RwAwait.TaskSupervisor, fn ->" in source
    assert "Task.Supervisor.async_nolink(RwAwait.TaskSupervisor, fn ->" in source
    assert "Task.async" not in source


def test_a_linked_start_nobody_keeps_no_longer_takes_the_server_down(awaiting: Booted) -> None:
    before, after = _said(awaiting.before), _said(awaiting.after)
    assert before["audit kept the server"] == "false"
    assert after["audit kept the server"] == "true"
    source = (awaiting.app / "lib" / "rw_await" / "quotes.ex").read_text("utf-8")
    assert "Task.start_link" not in source


def test_the_added_task_supervisor_is_started_once(awaiting: Booted) -> None:
    children = mix_apps.children_in(awaiting.after)
    assert children.count("RwAwait.TaskSupervisor") == 1, children
    assert mix_apps.children_in(awaiting.before) == ["RwAwait.Quotes"]


TRAP_PROBE = """
IO.puts("good: " <> inspect(GenServer.call(RwTrap.Runner, {:run, :good})))
{reason, _stack} = GenServer.call(RwTrap.Runner, {:run, :bad})
IO.puts("bad: " <> inspect(reason.__struct__))
"""


@pytest.fixture(scope="module")
def trapping(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_trap", TRAP_PROBE, tmp_path_factory.mktemp("trap"))


def test_a_caller_waiting_for_the_tasks_exit_signal_does_not_hang(trapping: Booted) -> None:
    assert _said(trapping.before) == _said(trapping.after)
    assert _said(trapping.after) == {"good": ":normal", "bad": "ArgumentError"}
    assert "Fixed" not in trapping.fixed.stderr  # nothing a fix could make right
    source = (trapping.app / "lib" / "rw_trap" / "runner.ex").read_text("utf-8")
    assert "task = Task.async(fn -> RwTrap.Jobs.run(job) end)" in source


CONTINUE_PROBE = """
IO.puts("pear: " <> inspect(RwContinue.Prices.price("pear")))
IO.puts("table: " <> inspect(:ets.lookup(:rw_continue_prices, "apple")))
"""


@pytest.fixture(scope="module")
def continuing(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_continue", CONTINUE_PROBE, tmp_path_factory.mktemp("continue"))


def test_the_state_moved_to_handle_continue_answers_calls(continuing: Booted) -> None:
    assert _said(continuing.before) == _said(continuing.after)
    assert _said(continuing.after) == {"pear": "{:ok, 5}", "table": '[{"apple", 3}]'}
    source = (continuing.app / "lib" / "rw_continue" / "prices.ex").read_text("utf-8")
    assert "{:ok, nil, {:continue, {:init, path, table}}}" in source
    assert "def handle_continue(:noop, state), do: {:noreply, state}" in source


LAYOUT_PROBE = """
pid = self()
RwLayout.Notices.welcome(pid)
RwLayout.Notices.receipt(pid)
RwLayout.Notices.digest(pid, 3)
RwLayout.Notices.reminder(pid)
RwLayout.Notices.invoice(pid, 7)
RwLayout.Notices.farewell(pid)
RwLayout.Notices.nudged(pid)
RwLayout.Notices.notify(pid, true)
RwLayout.Notices.nag(pid, false)

delivered =
  for _ <- 1..9 do
    receive do
      {:delivered, what, _how} -> what
    after
      2000 -> :missing
    end
  end

IO.puts("delivered: " <> inspect(Enum.sort(delivered)))
"""


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_layout", LAYOUT_PROBE, tmp_path_factory.mktemp("layout"))


def test_long_one_line_bodies_are_rewritten_as_mix_format_lays_them_out(laid_out: Booted) -> None:
    """``def f(x), do: Task.start(..)`` and ``if x, do: Task.start(..)`` whose rewrite passes
    98 columns, with ``do:`` on the head's line or already on its own: the rewritten file is
    what `mix format` makes of it."""
    assert _said(laid_out.before) == _said(laid_out.after)
    assert _said(laid_out.after)["delivered"] == (
        "[7, :farewell, :nag, :notice, :nudge, :receipt, :reminder, :welcome, {:digest, 3}]"
    )
    source = (laid_out.app / "lib" / "rw_layout" / "notices.ex").read_text("utf-8")
    assert "Task.start(" not in source
    assert source.count("Task.Supervisor.start_child(") == 9
    assert "  def reminder(pid),\n    do:\n      Task.Supervisor.start_child(" in source
    assert "    if wanted?,\n      do:" in source and "    unless done?,\n      do:" in source
    reformatted = mix_apps.mix(laid_out.app, "format")
    assert reformatted.returncode == 0, reformatted.stderr
    assert (laid_out.app / "lib" / "rw_layout" / "notices.ex").read_text("utf-8") == source


GROUPS_PROBE = """
lobby =
  try do
    RwGroups.Lobby.enter()
    {:players, length(RwGroups.Lobby.players()), RwGroups.Lobby.count()}
  rescue
    error in UndefinedFunctionError -> {:undefined, error.module}
  end

IO.puts("lobby: " <> inspect(lobby))
for {id, _, _, _} <- Supervisor.which_children(RwGroups.Supervisor), do: IO.puts("child: " <> inspect(id))
"""


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_groups", GROUPS_PROBE, tmp_path_factory.mktemp("groups"))


def test_a_file_moved_from_pg2_to_pg_sees_its_members(grouped: Booted) -> None:
    """The file's start, create, join and get_members move together in a safe fix (the start
    and the create removed), and the `:pg` scope starts before the server that reads it."""
    assert _said(grouped.before) == {"lobby": "{:undefined, :pg2}"}  # gone since OTP 24
    assert _said(grouped.after) == {"lobby": "{:players, 1, 1}"}
    # which_children lists the last started first
    assert mix_apps.children_in(grouped.after) == ["RwGroups.Lobby", ":pg"]
    assert "Fixed 4 findings" in grouped.fixed.stderr + grouped.fixed.stdout
    source = (grouped.app / "lib" / "rw_groups" / "lobby.ex").read_text("utf-8")
    assert ":pg2" not in source and "    :ok = :pg.join(:lobby, self())\n  end" in source
    assert "  def enter do\n    :ok = :pg.join(:lobby, self())\n  end" in source


@pytest.mark.parametrize("booted", ["awaiting", "trapping", "continuing", "laid_out", "grouped"])
def test_fixed_apps_stay_mix_format_clean(booted: str, request: pytest.FixtureRequest) -> None:
    app: Booted = request.getfixturevalue(booted)
    assert app.formatted_before
    assert app.formatted_after.returncode == 0, app.formatted_after.stdout + (
        app.formatted_after.stderr
    )


PARTITIONS_PROBE = """
RwPartitions.Mailer.deliver(self(), :hello)

receive do
  {:delivered, what} -> IO.puts("delivered: " <> inspect(what))
after
  2000 -> IO.puts("delivered: none")
end

RwPartitions.Mailer.receipt(self())

receive do
  {:receipt, sent} -> IO.puts("receipt: #{sent}")
after
  2000 -> IO.puts("receipt: none")
end

for {id, _, _, _} <- Supervisor.which_children(RwPartitions.Supervisor), do: IO.puts("child: " <> inspect(id))
"""


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_partitions", PARTITIONS_PROBE, tmp_path_factory.mktemp("parts"))


def test_tasks_go_to_the_partitioned_task_supervisors_the_app_runs(partitioned: Booted) -> None:
    """The app starts ``{PartitionSupervisor, child_spec: Task.Supervisor, name: ..}``: the
    fixes start their tasks on the caller's partition and add no Task.Supervisor."""
    assert _said(partitioned.before) == _said(partitioned.after)
    assert _said(partitioned.after) == {"delivered": ":hello", "receipt": "1"}
    children = mix_apps.children_in(partitioned.after)
    assert children == mix_apps.children_in(partitioned.before)
    assert sorted(children) == ["RwPartitions.Mailer", "RwPartitions.TaskSupervisors"]
    source = (partitioned.app / "lib" / "rw_partitions" / "mailer.ex").read_text("utf-8")
    via = "{:via, PartitionSupervisor, {RwPartitions.TaskSupervisors, self()}}"
    assert source.count(f"Task.Supervisor.start_child(\n      {via},") == 2
    assert "Task.start(" not in source and "Task.async(" not in source
    assert partitioned.formatted_before
    assert partitioned.formatted_after.returncode == 0, partitioned.formatted_after.stdout


NOLINK_PROBE = """
defmodule Probe do
  # Counts what GenServer's default handle_info/2 logs: messages the server did not expect.
  def log(%{msg: {:report, %{label: {GenServer, :no_handle_info}}}}, %{config: %{to: pid}}),
    do: send(pid, :stray)

  def log(_event, _config), do: :ok
end

:ok = :logger.add_handler(:probe, Probe, %{config: %{to: self()}})
GenServer.cast(RwNolink.Mailer, {:send, self()})

receive do
  :sent -> IO.puts("sent: yes")
after
  2000 -> IO.puts("sent: no")
end

Process.sleep(200)
count = fn count, n -> receive do: (:stray -> count.(count, n + 1)), after: (0 -> n) end
IO.puts("stray: " <> inspect(count.(count, 0)))
for {id, _, _, _} <- Supervisor.which_children(RwNolink.Supervisor), do: IO.puts("child: " <> inspect(id))
"""


@pytest.fixture(scope="module")
def nolinking(tmp_path_factory: pytest.TempPathFactory) -> Booted:
    return _boot_fix_boot("rw_nolink", NOLINK_PROBE, tmp_path_factory.mktemp("nolink"))


def test_an_async_nolink_task_nobody_awaits_sends_nothing_once_started_as_a_child(
    nolinking: Booted,
) -> None:
    """The safe fix: `async_nolink` becomes `start_child` on the same supervisor. The task
    still runs, and the server no longer gets its reply and `:DOWN`."""
    before, after = _said(nolinking.before), _said(nolinking.after)
    assert before == {"sent": "yes", "stray": "2"}
    assert after == {"sent": "yes", "stray": "0"}
    assert mix_apps.children_in(nolinking.after) == mix_apps.children_in(nolinking.before)
    source = (nolinking.app / "lib" / "rw_nolink" / "mailer.ex").read_text("utf-8")
    assert "Task.Supervisor.start_child(RwNolink.Tasks, fn -> send(pid, :sent) end)" in source
    assert "async_nolink" not in source
    assert nolinking.formatted_before
    assert nolinking.formatted_after.returncode == 0, nolinking.formatted_after.stdout
