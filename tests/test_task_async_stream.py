"""OTP102: the text of the Task.Supervisor.async_stream_nolink fix, form by form."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

SUPERVISED = "      {Task.Supervisor, name: Shop.Tasks},\n      Shop.Repo"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "def f(xs), do: Task.async_stream(xs, &work/1)",
            "def f(xs), do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, &work/1)",
        ),
        (
            "def f(xs), do: Task.async_stream(xs, &work/1, max_concurrency: 2)",
            "def f(xs), do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, &work/1, "
            "max_concurrency: 2)",
        ),
        (
            "def f(xs), do: Task.async_stream(xs, Mod, :work, [1], ordered: false)",
            "def f(xs), do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, Mod, :work, [1], "
            "ordered: false)",
        ),
        (
            "def f(xs), do: xs |> Task.async_stream(&work/1) |> Enum.to_list()",
            "def f(xs), do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, &work/1) "
            "|> Enum.to_list()",
        ),
        (
            "def f(xs), do: xs |> Enum.uniq() |> Task.async_stream(fn x -> x end) |> Stream.run()",
            "def f(xs), do: xs |> Enum.uniq() "
            "|> then(&Task.Supervisor.async_stream_nolink(Shop.Tasks, &1, fn x -> x end)) "
            "|> Stream.run()",
        ),
        (
            "def f(xs), do: xs |> Enum.uniq() |> Task.async_stream(&work/1) |> Stream.run()",
            "def f(xs), do: xs |> Enum.uniq() |> then(fn enumerable -> "
            "Task.Supervisor.async_stream_nolink(Shop.Tasks, enumerable, &work/1) end) "
            "|> Stream.run()",
        ),
        (
            "def f(enumerable), do: enumerable |> Enum.uniq() "
            "|> Task.async_stream(&work(&1, enumerable))",
            "def f(enumerable), do: enumerable |> Enum.uniq() |> then(fn entries -> "
            "Task.Supervisor.async_stream_nolink(Shop.Tasks, entries, &work(&1, enumerable)) end)",
        ),
        (
            "def f, do: &Task.async_stream/2",
            "def f, do: &Task.Supervisor.async_stream_nolink(Shop.Tasks, &1, &2)",
        ),
        (
            "def f, do: &Task.async_stream/5",
            "def f, do: &Task.Supervisor.async_stream_nolink(Shop.Tasks, &1, &2, &3, &4, &5)",
        ),
    ],
)
def test_fix_text(tmp_path: Path, before: str, after: str) -> None:
    root = project(tmp_path, SUPERVISED)
    fixed = fix(root, "OTP102", module(before))
    assert fixed.text == module(after)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"


def test_multi_line_arguments_keep_their_layout(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = module(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> Task.async_stream(\n"
        "    fn x -> x end,\n"
        "    timeout: 1_000\n"
        "  )\n"
        "end"
    )
    after = module(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> then(&Task.Supervisor.async_stream_nolink(\n"
        "    Shop.Tasks,\n"
        "    &1,\n"
        "    fn x -> x end,\n"
        "    timeout: 1_000\n"
        "  ))\n"
        "end"
    )
    assert fix(root, "OTP102", before).text == after


def test_adds_the_task_supervisor_when_the_app_has_none(tmp_path: Path) -> None:
    root = project(tmp_path)
    fixed = fix(root, "OTP102", module("def f(xs), do: Task.async_stream(xs, &work/1)"))
    assert "async_stream_nolink(Shop.TaskSupervisor, xs, &work/1)" in fixed.text
    assert fixed.application is not None
    assert (
        "      {Task.Supervisor, name: Shop.TaskSupervisor},\n      Shop.Repo" in fixed.application
    )


def test_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = module("def f(xs) do\n  Task.async_stream(\n    xs,\n    &work/1\n  )\nend")
    fixed = fix(root, "OTP102", before.replace("\n", "\r\n"))
    assert "\n" not in fixed.text.replace("\r\n", "")
    assert "async_stream_nolink(\r\n      Shop.Tasks,\r\n      xs,\r\n" in fixed.text


def test_silent_inside_isolated_processes(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    text = module(
        "def f(xs) do\n"
        "  Task.Supervisor.start_child(Shop.Tasks, fn ->\n"
        "    xs |> Task.async_stream(&work/1) |> Stream.run()\n"
        "  end)\n"
        "end"
    )
    assert findings(root, "OTP102", text) == []
