"""OTP102: the text of the Task.Supervisor.async_stream_nolink fix, form by form."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

from conftest import mix_formatted
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

CALLBACK = "\ndef handle_info(_message, state), do: {:noreply, state}"


def server(body: str) -> str:
    """``body`` in a GenServer-like module, where a linked crash loses process state."""
    return module(body + "\n" + CALLBACK)


def handled(definition: str) -> str:
    """``def f(...), do: expr`` with a ``match?({:exit, _}, ...)`` beside the stream: the
    function expects failed tasks, which a linked stream never delivers."""
    head, expression = definition.split(", do: ", 1)
    return f"{head} do\n  failed? = &match?({{:exit, _}}, &1)\n  {expression}\nend"


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
    fixed = fix(root, "OTP102", server(handled(before)))
    assert fixed.text == server(handled(after))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"


def test_multi_line_arguments_are_laid_out_as_mix_format_does(tmp_path: Path) -> None:
    """Moved inside ``then(&..)``, arguments each written on one line are laid out anew, as
    `mix format` lays them out (one a line when the call does not fit in 98 columns)."""
    root = project(tmp_path, SUPERVISED)
    before = server(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> Task.async_stream(\n"
        "    fn x -> x end,\n"
        "    zip_input_on_exit: true\n"
        "  )\n"
        "end"
    )
    after = server(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> then(\n"
        "    &Task.Supervisor.async_stream_nolink(\n"
        "      Shop.Tasks,\n"
        "      &1,\n"
        "      fn x -> x end,\n"
        "      zip_input_on_exit: true\n"
        "    )\n"
        "  )\n"
        "end"
    )
    assert fix(root, "OTP102", before).text == after


def test_multi_line_arguments_with_a_comment_keep_their_layout(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = server(
        "def f(xs) do\n"
        "  xs\n"
        "  |> Enum.uniq()\n"
        "  |> Task.async_stream(\n"
        "    fn x -> x end,\n"
        "    # the order of the results is kept\n"
        "    zip_input_on_exit: true\n"
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
        "    # the order of the results is kept\n"
        "    zip_input_on_exit: true\n"
        "  ))\n"
        "end"
    )
    assert fix(root, "OTP102", before).text == after


def test_adds_the_task_supervisor_when_the_app_has_none(tmp_path: Path) -> None:
    root = project(tmp_path)
    fixed = fix(root, "OTP102", server(handled("def f(xs), do: Task.async_stream(xs, &work/1)")))
    assert "async_stream_nolink(Shop.TaskSupervisor, xs, &work/1)" in fixed.text
    assert fixed.application is not None
    assert (
        "      Shop.Repo,\n      {Task.Supervisor, name: Shop.TaskSupervisor}" in fixed.application
    )


def test_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    root = project(tmp_path, SUPERVISED)
    before = server(
        "def f(xs) do\n  Task.async_stream(\n    xs,\n    &work/1,\n    zip_input_on_exit: true\n  )\nend"
    )
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
        # no sign that a failed task was expected: a crash takes the caller down either way
        server("def f(xs), do: xs |> Task.async_stream(&work/1) |> Stream.run()"),
        server("def f(xs), do: xs |> Task.async_stream(&work/1) |> Enum.map(fn {:ok, v} -> v end)"),
        # the failure clause re-raises: unlinking would change nothing
        server(
            "def f(xs) do\n  xs\n  |> Task.async_stream(&work/1)\n  |> Enum.map(fn\n"
            "    {:ok, v} -> v\n    {:exit, reason} -> raise inspect(reason)\n  end)\nend"
        ),
        server(
            handled("def init(xs), do: {:ok, Task.async_stream(xs, &work/1) |> Enum.to_list()}")
        ),
        # with :kill_task a timed-out task is an {:exit, :timeout} element: the clause is for it
        server(
            "def f(xs) do\n  xs\n  |> Task.async_stream(&work/1, on_timeout: :kill_task)\n"
            "  |> Enum.reduce([], &collect/2)\nend\n\n"
            "defp collect({:ok, v}, acc), do: [v | acc]\n"
            "defp collect({:exit, _reason}, acc), do: acc"
        ),
        server(
            "def f(xs) do\n  Process.flag(:trap_exit, true)\n"
            "  Task.async_stream(xs, &work/1, zip_input_on_exit: true) |> Enum.to_list()\nend"
        ),
    ],
)
def test_silent_without_evidence_that_failures_were_expected(tmp_path: Path, text: str) -> None:
    assert findings(project(tmp_path, SUPERVISED), "OTP102", text) == []


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        (
            module(
                "def f(xs) do\n  xs\n  |> Task.async_stream(&work/1)\n  |> Enum.flat_map(fn\n"
                "    {:ok, v} -> [v]\n    {:exit, _reason} -> []\n  end)\nend"
            ),
            "the {:exit, ...} clause on line 7",
        ),
        (
            module(
                "def f(xs) do\n  xs\n  |> Task.async_stream(&work/1, timeout: :infinity)\n"
                "  |> Enum.reduce([], &collect/2)\nend\n\n"
                "defp collect({:ok, v}, acc), do: [v | acc]\n"
                "defp collect({:exit, _reason}, acc), do: acc"
            ),
            "the {:exit, ...} clause on line 9",
        ),
        (
            module("def f(xs), do: Task.async_stream(xs, &work/1, zip_input_on_exit: true)"),
            "zip_input_on_exit: true",
        ),
    ],
)
def test_fires_where_failed_tasks_are_handled(tmp_path: Path, text: str, evidence: str) -> None:
    found = findings(project(tmp_path, SUPERVISED), "OTP102", text)
    assert [f.code for f in found] == ["OTP102"]
    assert evidence in found[0].message


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "def f(xs), do: Task.Supervisor.async_stream(Shop.Tasks, xs, &work/1)",
            "def f(xs), do: Task.Supervisor.async_stream_nolink(Shop.Tasks, xs, &work/1)",
        ),
        (
            "def f(xs), do: Shop.Tasks |> Task.Supervisor.async_stream(xs, &work/1, ordered: false)",
            "def f(xs), do: Shop.Tasks |> Task.Supervisor.async_stream_nolink(xs, &work/1, "
            "ordered: false)",
        ),
    ],
)
def test_a_supervised_stream_loses_only_its_link(tmp_path: Path, before: str, after: str) -> None:
    """``Task.Supervisor.async_stream`` links its tasks to the caller like ``Task.async_stream``:
    its fix is the ``_nolink`` function on the same supervisor, every argument kept."""
    fixed = fix(project(tmp_path, SUPERVISED), "OTP102", server(handled(before)))
    assert fixed.text == server(handled(after))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert fixed.finding.message.startswith("Task.Supervisor.async_stream links every task")
    assert fixed.application is not None and "Shop.TaskSupervisor" not in fixed.application


def test_a_supervised_stream_that_kills_timed_out_tasks_is_silent(tmp_path: Path) -> None:
    code = handled(
        "def f(xs), do: Task.Supervisor.async_stream(Shop.Tasks, xs, &work/1, on_timeout: :kill_task)"
    )
    assert findings(project(tmp_path, SUPERVISED), "OTP102", server(code)) == []


@pytest.mark.parametrize(
    ("options", "noted"),
    [
        ("", True),
        (", timeout: 60_000", True),
        (", on_timeout: :exit", False),
        (", timeout: :infinity", False),
        (", opts", False),
    ],
)
def test_a_stream_without_on_timeout_is_told_timeouts_exit_the_caller(
    tmp_path: Path, options: str, noted: bool
) -> None:
    """The default on_timeout: :exit makes a timed-out task exit the caller whether the tasks
    are linked or not: the message and the fix's title say so, unless the code chose it."""
    root = project(tmp_path, SUPERVISED)
    text = server(handled(f"def f(xs), do: Task.async_stream(xs, &work/1{options})"))
    (finding,) = findings(root, "OTP102", text)
    assert finding.fix is not None
    assert ("on_timeout defaults to :exit" in finding.message) is noted
    assert ("until on_timeout: :kill_task is added" in finding.fix.title) is noted


@pytest.mark.parametrize(
    ("options", "clause", "said"),
    [
        ("", "{:exit, reason} -> {:error, reason}", "for it to arrive there as {:exit, :timeout}"),
        (
            ", zip_input_on_exit: true",
            "{:exit, {id, reason}} -> {:error, id, reason}",
            "for it to arrive as {:exit, {input, :timeout}}",
        ),
        (
            "",
            "{:exit, {id, reason}} -> {:error, id, reason}",
            "with on_timeout: :kill_task it arrives as {:exit, :timeout}, which the clause on "
            "line {line} ({:exit, {id, reason}}) does not match: add on_timeout: :kill_task and "
            "a clause for it",
        ),
    ],
)
def test_the_timeout_note_says_what_a_timed_out_task_becomes(
    tmp_path: Path, options: str, clause: str, said: str
) -> None:
    """With `zip_input_on_exit: true` a timed-out task comes as `{:exit, {input, :timeout}}`;
    without it as `{:exit, :timeout}`, which a clause written for pairs never matches."""
    code = (
        f"def f(xs) do\n  xs\n  |> Task.async_stream(&work/1{options})\n  |> Enum.map(fn\n"
        f"    {{:ok, value}} -> value\n    {clause}\n  end)\nend"
    )
    text = server(code)
    (finding,) = findings(project(tmp_path, SUPERVISED), "OTP102", text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if clause in row)
    assert said.replace("{line}", str(line)) in finding.message


PIPED_OVER_LINES = """\
defmodule Shop.Subject do
  def rename(objects, old, new) do
    objects
    |> Stream.filter(& &1.key)
    |> Task.async_stream(
      fn %{key: key} ->
        renamed = String.replace_prefix(key, old, new)

        case copy(key, renamed) do
          {:ok, _} -> {:ok, renamed}
          {:error, reason} -> {:error, reason}
        end
      end,
      max_concurrency: 5,
      timeout: :infinity
    )
    |> Enum.reduce_while(:ok, fn
      {:ok, {:ok, _}}, acc -> {:cont, acc}
      {:exit, reason}, _ -> {:halt, {:error, reason}}
    end)
  end

  def handle_info(_message, state), do: {:noreply, state}
end
"""


def test_a_piped_stream_over_several_lines_is_laid_out_as_mix_format_does(
    tmp_path: Path,
) -> None:
    """Its arguments move two columns right inside ``then(&...)``, and the result is what
    Elixir's formatter writes."""
    root = project(tmp_path, SUPERVISED)
    fixed = fix(root, "OTP102", PIPED_OVER_LINES).text
    assert (
        "    |> then(\n      &Task.Supervisor.async_stream_nolink(\n        Shop.Tasks,\n" in fixed
    )
    assert "          renamed = String.replace_prefix(key, old, new)\n" in fixed
    assert fixed == mix_formatted(fixed)


EXPECTS_TIMEOUTS = """\
def f(feeds) do
  feeds
  |> Task.async_stream(&Shop.Feeds.fetch/1{options})
  |> Enum.map(fn
    {{:ok, items}} -> items
    {{:exit, :timeout}} -> []
  end)
end"""


@pytest.mark.parametrize(
    ("options", "after"),
    [
        ("", "|> Task.async_stream(&Shop.Feeds.fetch/1, on_timeout: :kill_task)"),
        (
            ", timeout: 2_000",
            "|> Task.async_stream(&Shop.Feeds.fetch/1, timeout: 2_000, on_timeout: :kill_task)",
        ),
        (
            ",\n    max_concurrency: 4,\n    timeout: 2_000\n  ",
            "      timeout: 2_000,\n      on_timeout: :kill_task\n    )",
        ),
    ],
)
def test_a_timeout_clause_that_never_runs_gets_on_timeout_kill_task(
    tmp_path: Path, options: str, after: str, elixir: None
) -> None:
    """Without ``on_timeout: :kill_task`` a timed-out task exits the caller: the
    ``{:exit, :timeout}`` clause is dead code, and adding the option is all it takes."""
    text = module(EXPECTS_TIMEOUTS.format(options=options))
    assert text == mix_formatted(text)
    line = text.splitlines().index("      {:exit, :timeout} -> []") + 1
    fixed = fix(project(tmp_path, SUPERVISED), "OTP102", text)
    assert f"the {{:exit, :timeout}} clause on line {line} never runs" in fixed.finding.message
    assert fixed.finding.severity == "warning"
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert after in fixed.text
    assert fixed.text == mix_formatted(fixed.text)


SLOW_SERVER = """\
use GenServer

def handle_info(:refresh, state) do
  rows = Task.async_stream(state.ids, &load/1{options}) |> Enum.map(fn {{:ok, row}} -> row end)
  {{:noreply, %{{state | rows: rows}}}}
end

defp load(id), do: Shop.Repo.get!(Shop.Row, id)"""


@pytest.mark.parametrize(
    ("options", "fires"),
    [("", True), (", timeout: 60_000", True), (", on_timeout: :kill_task", False)],
)
def test_a_server_stream_of_slow_work_is_told_a_timeout_ends_the_server(
    tmp_path: Path, options: str, fires: bool
) -> None:
    text = module(SLOW_SERVER.format(options=options))
    found = findings(project(tmp_path, SUPERVISED), "OTP102", text)
    if not fires:  # a timed-out task is an element now, which the {:ok, row} fn does not match
        assert [f.message for f in found if "exits the process" in f.message] == []
        [unmatched] = found
        assert "yields {:exit, :timeout}" in unmatched.message
        assert "Enum.map is given" in unmatched.message
        return
    [finding] = found
    assert finding.severity == "information" and finding.fix is None
    assert "its tasks wait on Shop.Repo.get! (through load)" in finding.message


def _found(path: Path, code: str) -> list[Finding]:
    rule = find_rule(code)
    assert rule is not None
    return analyze(Source(path.read_text("utf-8"), str(path)), rules=[rule])


def _messages(path: Path, code: str) -> list[str]:
    return [f.message for f in _found(path, code)]


def test_an_error_element_clause_is_named_and_gets_no_fix() -> None:
    path = Path(__file__).parent / "fixtures/OTP102/lib/feeds/error_elements.ex"
    found = _found(path, "OTP102")
    messages = [f.message for f in found]
    assert len(messages) == 3 and all(f.fix is None for f in found)
    assert all("never {:error, _}: the clause on line" in m for m in messages)
    assert "the clause on line 15 never runs" in messages[0]


def test_a_blind_rescue_says_unlinking_helps_only_where_the_caller_does_not_trap_exits() -> None:
    path = Path(__file__).parent / "fixtures/OTP101/lib/shop/rescued_awaits.ex"
    messages = _messages(path, "OTP101")
    assert [("the rescue on" in m, "the catch on" in m) for m in messages] == [
        (True, False),
        (False, True),
        (True, False),
        (True, False),
        (True, False),
    ]
    assert all("Task.Supervisor.async_nolink" in m for m in messages[:3])
    assert "async_nolink" not in messages[3] and "catch :exit" in messages[3]
    assert "Task.yield/2 raises nothing" in messages[4] and "async_nolink" in messages[4]
