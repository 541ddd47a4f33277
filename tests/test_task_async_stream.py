"""OTP102: the text of the Task.Supervisor.async_stream_nolink fix, form by form."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

CALLBACK = "\ndef handle_info(_message, state), do: {:noreply, state}"


def server(body: str) -> str:
    """``body`` in a GenServer-like module, where a linked crash loses process state."""
    return module(body + "\n" + CALLBACK)


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
            # past 98 columns on one line: `do:` goes on a line of its own, as mix format does
            "def f(xs),\n  do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, Mod, :work, [1], "
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
    fixed = fix(root, "OTP102", server(before))
    assert fixed.text == server(after)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"


def test_multi_line_arguments_keep_their_layout(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = server(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> Task.async_stream(\n"
        "    fn x -> x end,\n"
        "    timeout: 1_000\n"
        "  )\n"
        "end"
    )
    after = server(
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
    fixed = fix(root, "OTP102", server("def f(xs), do: Task.async_stream(xs, &work/1)"))
    assert "async_stream_nolink(Shop.TaskSupervisor, xs, &work/1)" in fixed.text
    assert fixed.application is not None
    assert (
        "      {Task.Supervisor, name: Shop.TaskSupervisor},\n      Shop.Repo" in fixed.application
    )


def test_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = server("def f(xs) do\n  Task.async_stream(\n    xs,\n    &work/1\n  )\nend")
    fixed = fix(root, "OTP102", before.replace("\n", "\r\n"))
    assert "\n" not in fixed.text.replace("\r\n", "")
    assert "async_stream_nolink(\r\n      Shop.Tasks,\r\n      xs,\r\n" in fixed.text


def test_silent_inside_isolated_processes(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    text = server(
        "def f(xs) do\n"
        "  Task.Supervisor.start_child(Shop.Tasks, fn ->\n"
        "    xs |> Task.async_stream(&work/1) |> Stream.run()\n"
        "  end)\n"
        "end"
    )
    assert findings(root, "OTP102", text) == []


@pytest.mark.parametrize(
    "text",
    [
        module("def f(xs), do: xs |> Task.async_stream(&work/1) |> Stream.run()"),
        server("def init(xs), do: {:ok, Task.async_stream(xs, &work/1) |> Enum.to_list()}"),
        server(
            "def f(xs) do\n  Process.flag(:trap_exit, true)\n"
            "  Task.async_stream(xs, &work/1) |> Enum.to_list()\nend"
        ),
    ],
)
def test_silent_where_no_process_state_is_at_stake(tmp_path: Path, text: str) -> None:
    assert findings(project(tmp_path, SUPERVISED), "OTP102", text) == []


def test_fires_in_helpers_taking_the_state(tmp_path: Path) -> None:
    text = module("def f(%{xs: xs} = state), do: {Task.async_stream(xs, &work/1), state}")
    assert [f.code for f in findings(project(tmp_path, SUPERVISED), "OTP102", text)] == ["OTP102"]
