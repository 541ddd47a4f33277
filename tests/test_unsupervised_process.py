"""OTP103: what fires, and the text of the Task.Supervisor.start_child fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

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
    assert "{Task.Supervisor, name: Shop.TaskSupervisor},\n      Shop.Repo" in with_app.application
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
