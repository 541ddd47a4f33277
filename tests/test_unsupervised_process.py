"""OTP103: what fires, and the text of the Task.Supervisor.start_child fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import APPLICATION, findings, fix, module, project

from conftest import elixir_accepts
from otp_thinking.fixes import closest_name

SUPERVISED = "      {Task.Supervisor, name: Shop.Tasks},\n      Shop.Repo"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "def f, do: Task.start(fn -> work() end)",
            "def f, do: Task.Supervisor.start_child(Shop.Tasks, fn -> work() end)",
        ),
        (
            "def f, do: Task.start(Mod, :work, [1])",
            "def f, do: Task.Supervisor.start_child(Shop.Tasks, Mod, :work, [1])",
        ),
        (
            "def f, do: fn -> work() end |> Task.start()",
            "def f, do: Task.Supervisor.start_child(Shop.Tasks, fn -> work() end)",
        ),
        (
            "def f(x), do: x |> build() |> Task.start()",
            "def f(x), do: x |> build() |> then(&Task.Supervisor.start_child(Shop.Tasks, &1))",
        ),
        (
            "def f(funs), do: Enum.each(funs, &Task.start/1)",
            "def f(funs), do: Enum.each(funs, &Task.Supervisor.start_child(Shop.Tasks, &1))",
        ),
    ],
)
def test_task_start_fix_text(tmp_path: Path, before: str, after: str) -> None:
    fixed = fix(project(tmp_path, SUPERVISED), "OTP103", module(before))
    assert fixed.text == module(after)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert "Task.Supervisor, name: Shop.TaskSupervisor" not in (fixed.application or "")


def test_adds_the_supervisor_and_is_unsafe_without_an_application(tmp_path: Path) -> None:
    with_app = fix(project(tmp_path / "a"), "OTP103", module("def f, do: Task.start(&work/0)"))
    assert with_app.application is not None
    assert "Shop.Repo,\n      {Task.Supervisor, name: Shop.TaskSupervisor}" in with_app.application
    assert with_app.finding.fix is not None and with_app.finding.fix.safety == "safe"
    without = fix(project(tmp_path / "b", None), "OTP103", module("def f, do: Task.start(&work/0)"))
    assert without.finding.fix is not None and without.finding.fix.safety == "unsafe"
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor, &work/0)" in without.text


@pytest.mark.parametrize(
    "code",
    [
        "def f, do: spawn(fn -> work() end)",
        "def f, do: spawn(Mod, :work, [])",
        "def f, do: Kernel.spawn(fn -> work() end)",
        "def f, do: :erlang.spawn(Mod, :work, [])",
        "def f, do: Process.spawn(fn -> work() end, [:monitor])",
    ],
)
def test_spawns_fire_without_a_fix(tmp_path: Path, code: str) -> None:
    found = findings(project(tmp_path), "OTP103", module(code))
    assert [(f.code, f.fix) for f in found] == [("OTP103", None)]


@pytest.mark.parametrize(
    "code",
    [
        "def f, do: spawn_link(fn -> work() end)",
        "def f, do: Process.spawn(fn -> work() end, [:monitor, :link])",
        "def f do\n  opts = [:link]\n  Process.spawn(fn -> work() end, opts)\nend",
        "def f(node), do: :erlang.spawn(node, fn -> work() end)",
        "def spawn_worker(fun), do: spawn(fun)",
        "def start(fun), do: {:ok, spawn(fun)}",
        "def f(pid), do: spawn(fn -> Process.monitor(pid) end)",
        "def f, do: spawn(fn -> work() end)\ndefp spawn(fun), do: fun.()",
        "def f, do: Task.start_link(fn -> work() end)",
    ],
)
def test_near_misses_stay_silent(tmp_path: Path, code: str) -> None:
    assert findings(project(tmp_path), "OTP103", module(code)) == []


@pytest.mark.parametrize(
    ("children", "chosen"),
    [
        # the supervisor of the caller's own namespace wins over the application-wide one
        (
            "      {Task.Supervisor, name: Shop.Tasks},\n"
            "      {Task.Supervisor, name: Shop.Subject.Tasks}",
            "Shop.Subject.Tasks",
        ),
        # another part's supervisor is not borrowed: the application-wide one is used
        (
            "      {Task.Supervisor, name: Shop.Mailer.Tasks},\n"
            "      {Task.Supervisor, name: Shop.Tasks}",
            "Shop.Tasks",
        ),
        ("      {Task.Supervisor, name: :background}", ":background"),
    ],
)
def test_several_task_supervisors_the_callers_is_used(
    tmp_path: Path, children: str, chosen: str
) -> None:
    fixed = fix(project(tmp_path, children), "OTP103", module("def f, do: Task.start(&work/0)"))
    assert fixed.text == module(f"def f, do: Task.Supervisor.start_child({chosen}, &work/0)")
    assert fixed.application == APPLICATION.format(children=children)


def test_another_parts_supervisor_is_not_borrowed(tmp_path: Path) -> None:
    children = "      {Task.Supervisor, name: Shop.Analytics.Tasks}"
    fixed = fix(project(tmp_path, children), "OTP103", module("def f, do: Task.start(&work/0)"))
    assert fixed.text == module(
        "def f, do: Task.Supervisor.start_child(Shop.TaskSupervisor, &work/0)"
    )
    assert fixed.application == APPLICATION.format(
        children=children + ",\n      {Task.Supervisor, name: Shop.TaskSupervisor}"
    )


def test_closest_name_outside_any_module_takes_the_application_wide_one() -> None:
    assert closest_name(["Shop.Mailer.Tasks", "Shop.Tasks"], "") == "Shop.Tasks"
    assert closest_name([], "") is None
    assert closest_name(["Shop.Mailer.Tasks"], "Shop.Mailer.Worker") == "Shop.Mailer.Tasks"
    assert closest_name(["Shop.Mailer.Tasks"], "Shop.MailerWeb") is None


BUILT_CHILDREN = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    Supervisor.start_link(children(), strategy: :one_for_one)
  end

  defp children do
    caches() ++
      [
        Shop.Repo,
        {Task.Supervisor, name: Shop.Analytics.Tasks}
      ]
  end

  defp caches, do: []
end
"""


def test_another_parts_supervisor_is_borrowed_when_none_can_be_added(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    (root / "lib" / "shop" / "application.ex").write_text(BUILT_CHILDREN, "utf-8")
    fixed = fix(root, "OTP103", module("def f, do: Task.start(&work/0)"))
    assert fixed.text == module(
        "def f, do: Task.Supervisor.start_child(Shop.Analytics.Tasks, &work/0)"
    )
    assert fixed.application == BUILT_CHILDREN
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"


def test_a_nested_module_is_named_in_full(tmp_path: Path) -> None:
    children = (
        "      {Task.Supervisor, name: Shop.Tasks},\n"
        "      {Task.Supervisor, name: Shop.Outer.Inner.Tasks}"
    )
    text = (
        "defmodule Shop.Outer do\n"
        "  defmodule Inner do\n"
        "    def f, do: Task.start(&work/0)\n"
        "  end\n"
        "end\n"
    )
    fixed = fix(project(tmp_path, children), "OTP103", text)
    assert "Task.Supervisor.start_child(Shop.Outer.Inner.Tasks, &work/0)" in fixed.text


PARTITIONED = (
    "      Shop.Repo,\n"
    "      {PartitionSupervisor, child_spec: Task.Supervisor, name: Shop.BackgroundTaskSupervisors}"
)


def test_a_first_line_too_long_puts_each_argument_on_its_own_line(
    tmp_path: Path, elixir: None
) -> None:
    """The via tuple of partitioned Task.Supervisors pushes ``start_child(.., fn ->`` past 98
    columns: the arguments go one a line and the ``fn`` two columns right, as `mix format`
    lays them out (checked against it by hand; `bench/fixcheck.py` checks real projects)."""
    before = (
        "def notify(user) do\n  Task.start(fn ->\n    Mailer.deliver(user)\n    :ok\n  end)\nend"
    )
    after = (
        "def notify(user) do\n"
        "  Task.Supervisor.start_child(\n"
        "    {:via, PartitionSupervisor, {Shop.BackgroundTaskSupervisors, self()}},\n"
        "    fn ->\n"
        "      Mailer.deliver(user)\n"
        "      :ok\n"
        "    end\n"
        "  )\n"
        "end"
    )
    fixed = fix(project(tmp_path, PARTITIONED), "OTP103", module(before))
    assert fixed.text == module(after)
    path = tmp_path / "fixed.ex"
    path.write_text(fixed.text, "utf-8")
    assert elixir_accepts([path])[0]


def test_a_string_over_several_lines_keeps_the_layout_it_had(tmp_path: Path) -> None:
    """Moving the lines of a heredoc would change its text: the call keeps its layout."""
    before = (
        'def notify(user) do\n  Task.start(fn ->\n    Mailer.deliver(user, """\n'
        '    Hello\n    """)\n  end)\nend'
    )
    fixed = fix(project(tmp_path, PARTITIONED), "OTP103", module(before))
    assert (
        "Task.Supervisor.start_child({:via, PartitionSupervisor, {Shop.BackgroundTaskSupervisors, self()}}, fn ->\n"
        in (fixed.text)
    )
    assert '      Hello\n      """)' in fixed.text


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Task.start(fn -> work() end)\n  :ok", False),
        ("{:ok, _pid} = Task.start(fn -> work() end)\n  :ok", False),
        ("{:ok, pid} = Task.start(fn -> work() end)\n  Process.monitor(pid)", True),
        ("pid = spawn(fn -> work() end)\n  %{worker: pid}", True),
    ],
)
def test_a_kept_pid_is_known_to_its_starter(tmp_path: Path, body: str, kept: bool) -> None:
    """A starter that keeps the pid can watch and stop the process: the message does not say
    that nothing can list it."""
    root = project(tmp_path)
    (finding,) = findings(root, "OTP103", module(f"def f do\n  {body}\nend"))
    assert ("only the code that keeps its pid knows of it" in finding.message) is kept
    assert ("nothing can list it or wait for it" in finding.message) is not kept


TRACKER = """\
use GenServer

def handle_call({:fetch, key}, from, state) do
  {:ok, pid} = reply_later(from, key)
  Process.monitor(pid)
  {:noreply, %{state | tasks: MapSet.put(state.tasks, pid)}}
end

def handle_info({:DOWN, _ref, :process, pid, _reason}, state),
  do: {:noreply, %{state | tasks: MapSet.delete(state.tasks, pid)}}

defp reply_later(from, key), do: Task.start(fn -> GenServer.reply(from, load(key)) end)"""


@pytest.mark.parametrize("monitored", [True, False])
def test_a_task_a_helper_hands_to_an_owner_that_monitors_is_known_to_it(
    tmp_path: Path, monitored: bool
) -> None:
    """The helper returns the pid, the callback that calls it monitors the task and drops it on
    :DOWN: the owner knows of it, but the application's shutdown still does not stop it."""
    body = TRACKER if monitored else TRACKER.replace("  Process.monitor(pid)\n", "")
    body = body if monitored else body.replace(":DOWN", ":gone")
    (finding,) = findings(project(tmp_path), "OTP103", module(body))
    assert ("only the code that keeps its pid knows of it" in finding.message) is monitored
    assert ("nothing can list it or wait for it" in finding.message) is not monitored


@pytest.mark.parametrize(
    ("loop", "serves"),
    [
        ("{:ok, client} = :gen_tcp.accept(socket)\n  send(Shop.Inbox, client)", True),
        ("receive do\n    msg -> send(Shop.Inbox, msg)\n  end", True),
        ("Process.sleep(5_000)\n  if Shop.Deploys.ready?(socket), do: :ok", False),
    ],
)
def test_only_a_loop_that_serves_its_owner_is_told_to_link(
    tmp_path: Path, loop: str, serves: bool
) -> None:
    """An accept or receive loop belongs to whoever started it (link it); a loop that polls
    and sleeps is work like any other, and its starter may be a request that ends first."""
    code = f"def f(socket), do: spawn(fn -> run(socket) end)\n\ndef run(socket) do\n  {loop}\n  run(socket)\nend"
    (finding,) = findings(project(tmp_path), "OTP103", module(code))
    assert ("use spawn_link" in finding.message) is serves
    assert ("Task.Supervisor.start_child/2" in finding.message) is not serves
