"""Trees deeper than tree-sitter's query cursor can count (65,535 levels below where a query
starts): they are queried in slices of `parsing.SLICE_DEPTH` levels, and must give what one
run over a shallower tree gives; and bodies so wide that tree-sitter's ``.parent`` gets costly
have their parents recorded. Timings are bench/deep.py's to measure; no test asserts one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tree_sitter import Node, QueryCursor

from otp_thinking import config, parsing, syntax
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding, apply_edits
from otp_thinking.hovers import construct_card
from otp_thinking.registry import all_rules
from otp_thinking.source import Source
from otp_thinking.syntax import error_count

ROOT = Path(__file__).resolve().parent.parent
REAL_FILES = sorted((ROOT / "examples").rglob("*.ex")) + sorted(
    (ROOT / "tests/fixtures").rglob("*.ex")
)
EVERY_RULE, _ = config.from_mapping({"rules": {"preview": True}})
GENSERVER = (
    "defmodule P do\n  use GenServer\n  def handle_cast(x, s) do\n{body}\n"
    "    {{:noreply, s}}\n  end\nend\n"
)


def nested_cases(depth: int) -> str:
    """A task whose value is dropped, ``depth`` `case`s down (four tree levels each)."""
    return GENSERVER.format(
        body="    " + "case x do\n_ ->\n" * depth + "Task.async(fn -> x end)\n:ok"
        + "\nend" * depth + "\n    :ok"
    )  # fmt: skip


def ordinary_text() -> str:
    return "\n".join(p.read_text("utf-8") for p in REAL_FILES)


@pytest.fixture
def thin_slices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Slices of three levels: ordinary code is then 'deep', and queried in many slices."""
    monkeypatch.setattr(parsing, "UNSLICED_DEPTH", 3)
    monkeypatch.setattr(parsing, "SLICE_DEPTH", 3)
    parsing._slices.clear()
    yield
    parsing._slices.clear()


def test_a_dropped_task_20000_cases_down_is_found_and_fixed() -> None:
    text = nested_cases(20_000)
    source = Source(text, "lib/deep.ex")
    assert parsing.slice_starts(source.tree.root_node) is not None
    found = [f for f in analyze(source, config=EVERY_RULE) if f.code == "OTP101"]
    assert len(found) == 1
    [finding] = found
    assert text[finding.start : finding.end].startswith("Task.async")
    assert finding.fix is not None
    fixed = apply(text, finding)
    assert fixed != text
    assert error_count(Source(fixed, "lib/deep.ex").tree.root_node) == 0


def apply(text: str, finding: Finding) -> str:
    assert finding.fix is not None
    return apply_edits(text, finding.fix.edits_for(None))


def shape(matches: object) -> list[tuple[int, list[tuple[str, list[tuple[int, int]]]]]]:
    return [
        (pattern, sorted((name, [_span(n) for n in nodes]) for name, nodes in captures.items()))
        for pattern, captures in matches  # type: ignore[attr-defined]
    ]


def _span(node: Node) -> tuple[int, int]:
    return node.start_byte, node.end_byte


def test_every_query_in_slices_matches_what_one_run_matches(thin_slices: None) -> None:
    all_rules()  # the rules' queries are defined on import
    root = Source(ordinary_text(), "lib/all.ex").tree.root_node
    starts = parsing.slice_starts(root)
    assert starts is not None and len(starts) > 100
    for query in parsing.QUERIES:
        whole = shape(QueryCursor(query.query).matches(root))
        sliced = shape(parsing.pattern_matches(query.query, root))
        assert sorted(sliced) == sorted(whole), query
        firsts = [min(s for _name, spans in captures for s, _e in spans) for _p, captures in sliced]
        assert firsts == sorted(firsts), query  # in source order


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_findings_and_fixes_are_the_same_when_queried_in_slices(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text("utf-8")
    whole = analyze(Source(text, "lib/app.ex"), config=EVERY_RULE)
    monkeypatch.setattr(parsing, "UNSLICED_DEPTH", 3)
    monkeypatch.setattr(parsing, "SLICE_DEPTH", 3)
    parsing._slices.clear()
    sliced = analyze(Source(text, "lib/app.ex"), config=EVERY_RULE)
    parsing._slices.clear()
    assert sliced == whole


def test_a_tree_with_fewer_nodes_than_a_slice_is_queried_whole() -> None:
    root = Source(nested_cases(100), "lib/deep.ex").tree.root_node
    assert root.descendant_count <= parsing.UNSLICED_DEPTH
    assert parsing.slice_starts(root) is None


def test_a_large_shallow_tree_is_queried_whole() -> None:
    root = Source(ordinary_text() * 8, "lib/all.ex").tree.root_node
    assert root.descendant_count > parsing.UNSLICED_DEPTH
    assert parsing.slice_starts(root) is None


def test_the_sampled_depth_is_within_a_step_of_the_deepest() -> None:
    root = Source(nested_cases(3_000), "lib/deep.ex").tree.root_node
    deepest = parsing._sampled_depth(root)
    true_deepest, stack = 0, [(root, 0)]
    while stack:
        node, depth = stack.pop()
        true_deepest = max(true_deepest, depth)
        stack.extend((child, depth + 1) for child in node.children)
    assert true_deepest > 10 * parsing.PROBE_STEP
    assert true_deepest - parsing.PROBE_STEP <= deepest <= true_deepest


def test_the_parents_of_a_wide_body_are_recorded_once_looking_them_up_costs_more() -> None:
    """tree-sitter scans a parent's children to find a node's parent: the parents of 3,000
    statements of one body, asked one by one, cost the square of 3,000 unless recorded."""
    text = GENSERVER.format(body="    Task.async(fn -> x end)\n" * 3_000)
    root = Source(text, "lib/wide.ex").tree.root_node
    calls = [c["call"][0] for c in parsing.matches(syntax.REMOTE_CALLS, root)]
    assert len(calls) == 3_000
    assert syntax._known(calls[0]) is None
    above = [syntax.parent(call) for call in calls]
    assert syntax._known(calls[0]) is not None  # recorded on the way
    assert above == [call.parent for call in calls]
    assert syntax.enclosing_definition(calls[-1]) == calls[-1].parent.parent


def test_the_parents_of_nested_modules_are_recorded_once_short_walks_add_up() -> None:
    """Each ``defmodule``'s enclosing module is a few steps up, under DEEP, but every step
    from 3,000 levels down costs the depth: the steps' time adds up past what recording the
    parents costs (tenfold at this depth), and they are recorded."""
    depth = 3_000
    text = "".join(f"defmodule M{i} do\n" for i in range(depth)) + "end\n" * depth
    root = Source(text, "lib/nested.ex").tree.root_node
    modules = [c["call"][0] for c in parsing.matches(syntax.LOCAL_CALLS, root)]
    assert len(modules) == depth
    assert syntax._known(modules[-1]) is None
    enclosing = [syntax.enclosing_module(m) for m in reversed(modules)]
    assert syntax._known(modules[-1]) is not None  # recorded on the way
    assert enclosing[:-1] == list(reversed(modules[:-1]))
    assert enclosing[-1] is None


def test_a_hover_20000_cases_down_gets_its_card() -> None:
    """The hover's query is narrowed to one byte; past tree-sitter's 65,535 levels it still
    needs the slices the analysis uses."""
    text = nested_cases(20_000)
    source = Source(text, "lib/deep.ex")
    shallow = nested_cases(3)
    expected = construct_card(Source(shallow, "lib/shallow.ex"), shallow.index("Task.async") + 2)
    assert expected is not None
    assert construct_card(source, text.index("Task.async") + 2) == expected
