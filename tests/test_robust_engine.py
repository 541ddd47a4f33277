"""The engine on any input: it never raises, gives the same answer twice, and every finding's
range lies inside the text. Inputs: random text, random bytes decoded with replacement, real
files with slices deleted or duplicated, deep nesting and long bodies, a file of megabytes and
very long lines. How the time grows with size and depth is bench/deep.py's to measure (up to
20,000 levels and 10 MB); tests never assert timings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otp_thinking import config
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding
from otp_thinking.registry import all_rules
from otp_thinking.rule import Rule
from otp_thinking.source import Source

ROOT = Path(__file__).resolve().parent.parent
REAL_FILES = sorted(
    p for folder in (ROOT / "examples", ROOT / "tests" / "fixtures") for p in folder.rglob("*.ex*")
)
REAL_TEXTS = [p.read_text("utf-8") for p in REAL_FILES]

# Pieces of Elixir that reach the rules' code paths when glued together at random.
PIECES = st.sampled_from(
    [
        "defmodule A do\n", "end\n", "def f(x) do\n", "defp g, do: ", "use GenServer\n",
        "use Application\n", "Task.async(fn -> 1 end)", "Task.async_stream(xs, &f/1)",
        "Task.start(fn -> work() end)", "spawn(fn -> loop(1) end)", ":pg2.join(:g, self())",
        "GenServer.call(pid, :x, :infinity)", ":ets.new(:t, [:set])", "Agent.update(a, fn s ->",
        "String.to_atom(name)", "name: ", "children = [", "]", "{", "}", "(", ")", "|> ", ", ",
        "\n", "\r\n", "\r", "  ", "# otp-thinking: disable-next-line ", "OTP101", '"', "'",
        "~s(", "<<", ">>", "%{", "é", "👋", "\u2028", "\x0c", "\x00", "@behaviour ",
        "def handle_call(:get, _from, state), do: {:reply, state, state}\n",
        "Application.get_env(:app, :key)", "Supervisor.init(children, strategy: :one_for_one)",
    ]
)  # fmt: skip


EVERY_RULE, _ = config.from_mapping({"rules": {"preview": True}})
"""Robustness concerns every rule: the preview ones too."""


def check(text: str, path: str | None = None) -> list[Finding]:
    """Analyse twice from scratch; the answers must agree and lie inside the text."""
    first = analyze(Source(text, path), config=EVERY_RULE)
    second = analyze(Source(text, path), config=EVERY_RULE)
    assert first == second
    for finding in first:
        assert 0 <= finding.start <= finding.end <= len(text), finding
        if finding.fix is not None:
            for edit in finding.fix.edits_for(None):
                assert 0 <= edit.start <= edit.end <= len(text), (finding, edit)
    return first


@pytest.fixture(autouse=True)
def rules_never_fail(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """A rule that raises is caught and logged by the engine; here that counts as a failure."""
    with caplog.at_level(logging.ERROR, logger="otp_thinking"):
        yield
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, failures


BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@BOUNDED
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check(text)


@BOUNDED
@given(st.binary(max_size=400))
def test_random_bytes_decoded_with_replacement(data: bytes) -> None:
    check(data.decode("utf-8", "replace"))


@BOUNDED
@given(st.lists(PIECES, max_size=60).map("".join))
def test_random_elixir_pieces(text: str) -> None:
    check(text, "lib/app/random.ex")


@BOUNDED
@given(st.data())
def test_real_files_with_slices_deleted_or_duplicated(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(REAL_TEXTS))
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 200)))
        if data.draw(st.booleans()):
            text = text[:start] + text[end:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    check(text, "lib/shop/edited.ex")


def test_every_real_file_as_is() -> None:
    for path, text in zip(REAL_FILES, REAL_TEXTS, strict=True):
        check(text, str(path))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "(" * 5000 + ")" * 5000,
        "%{a: " * 3000 + "1" + "}" * 3000,
        "defmodule A do\n" * 1500 + "Task.async(fn -> 1 end)\n" + "end\n" * 1500,
        "fn -> " * 2000 + "Task.async(f)" + " end" * 2000,
        "def f do\n" * 1500 + "end\n" * 1500,
        "x |> " * 5000 + "Task.async()",
        "case x do\n" * 1000 + "end\n" * 1000,
        '"#{' * 2000 + '"' + '}"' * 2000,
    ],
    ids=["lists", "parens", "maps", "modules", "fns", "defs", "pipes", "cases", "interpolation"],
)
def test_deeply_nested_code(text: str) -> None:
    check(text, "lib/app/deep.ex")


def test_a_file_of_megabytes() -> None:
    examples = [p.read_text("utf-8") for p in sorted((ROOT / "examples").rglob("*.ex*"))]
    unit = "\n".join(examples) + "\n"
    text = unit * (2_000_000 // len(unit) + 1)
    findings = analyze(Source(text, "lib/app/huge.ex"), config=EVERY_RULE)
    assert all(0 <= f.start <= f.end <= len(text) for f in findings)
    once = analyze(Source(unit, "lib/app/huge.ex"), config=EVERY_RULE)
    assert once and len(findings) == len(once) * (2_000_000 // len(unit) + 1)  # all the way down


@pytest.mark.parametrize(
    "line",
    [
        "x = [" + "1, " * 200_000 + "Task.async(fn -> 1 end)]",
        'x = "' + "é👋" * 200_000 + '"; Task.async(fn -> 1 end)',
        "# " + "a" * 1_000_000,
        "Task.async(fn -> 1 end); " * 2_000,
    ],
    ids=["list", "multibyte-string", "comment", "many-calls"],
)
def test_very_long_lines(line: str) -> None:
    text = f"defmodule Long do\n  def f do\n    {line}\n  end\nend\n"
    findings = check(text, "lib/app/long.ex")
    source = Source(text)
    for finding in findings:
        for encoding in ("utf-8", "utf-16", "utf-32"):
            position = source.offset_to_position(finding.start, encoding)  # type: ignore[arg-type]
            assert source.position_to_offset(position, encoding) == finding.start  # type: ignore[arg-type]


def test_the_rule_set_is_loaded() -> None:
    assert all_rules(), "no rules were found: these tests would prove nothing"


def test_a_rule_that_raises_is_logged_and_the_others_still_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(context: object) -> list[Finding]:
        raise RuntimeError("boom")

    broken = Rule(
        code="OTP999",
        name="always-fails",
        severity="warning",
        summary="fails",
        doc="",
        check=explode,
    )
    text = next(t for t in REAL_TEXTS if "Task.async" in t and "handle_" in t)
    normal = analyze(Source(text, "lib/shop/prices.ex"), config=EVERY_RULE)
    assert normal
    with caplog.at_level(logging.ERROR, logger="otp_thinking"):
        found = analyze(
            Source(text, "lib/shop/prices.ex"), config=EVERY_RULE, rules=[broken, *all_rules()]
        )
    assert found == normal
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "OTP999" in record.getMessage() and "lib/shop/prices.ex" in record.getMessage()
    caplog.clear()  # the autouse fixture would count this expected failure


GENSERVER = "defmodule P do\n  use GenServer\n  def handle_cast(x, s) do\n{body}\n    {{:noreply, s}}\n  end\nend\n"
DROPPED = "Task.async(fn -> x end)\n:ok"
DEEP_SHAPES = {
    "piped Task.async": lambda n: "    x\n" + "    |> Task.async()\n" * n,
    "statements": lambda n: "    Task.async(fn -> x end)\n" * n,
    "nested defmodules": lambda n: "    Task.async(fn -> x end)",
    "nested lists": lambda n: "    y = " + "[" * n + f"({DROPPED})" + "]" * n,
    "nested fns": lambda n: "    f = " + "fn -> " * n + DROPPED + " end" * n,
    "nested cases": lambda n: (
        "    " + "case x do\n_ ->\n" * n + DROPPED + "\nend" * n + "\n    :ok"
    ),
}
"""The shapes of bench/deep.py: each holds a task whose value is dropped (OTP101 with a fix)."""


def _deep_file(shape: str, depth: int) -> str:
    text = GENSERVER.format(body=DEEP_SHAPES[shape](depth))
    if shape == "nested defmodules":
        text = "".join(f"defmodule M{i} do\n" for i in range(depth)) + text + "end\n" * depth
    return text


@pytest.mark.parametrize("shape", list(DEEP_SHAPES))
def test_deep_and_long_files_give_the_finding_of_a_shallow_one(shape: str) -> None:
    """Past `syntax.DEEP` levels parents are looked up in a record, and facts about a function
    or a block are computed once for all its calls: the answers must be those of a shallow
    file. (Walking up to the root for every call once made 2,000 piped Task.async take 205 s;
    the time is bench/deep.py's to measure.)"""
    shallow = check(_deep_file(shape, 1), "lib/deep.ex")
    deep_text = _deep_file(shape, 600)
    deep = check(deep_text, "lib/deep.ex")
    assert [f.code for f in shallow] == ["OTP101"]
    expected = 600 if shape == "statements" else 1
    assert [f.code for f in deep] == ["OTP101"] * expected
    assert all(deep_text[f.start : f.end].startswith(("x\n", "Task.async")) for f in deep)
    assert all(f.fix is not None for f in deep)
    assert {f.fix.title for f in deep} == {f.fix.title for f in shallow}  # type: ignore[union-attr]


def test_recorded_parents_agree_with_tree_sitter() -> None:
    """Past syntax.DEEP levels the walk up uses a record of the tree's parents: same nodes."""
    from otp_thinking import syntax

    text = _deep_file("nested lists", 300)
    tree = Source(text, "lib/deep.ex").tree
    deepest = tree.root_node.descendant_for_byte_range(text.index("Task"), text.index("Task") + 4)
    assert deepest is not None
    plain, node = [], deepest.parent
    while node is not None:
        plain.append(node)
        node = node.parent
    assert len(plain) > syntax.DEEP
    assert list(syntax.ancestors(deepest)) == plain
    assert list(syntax.ancestors(deepest)) == plain  # the second time from the record
    assert syntax.parent(deepest) == deepest.parent
    list_node = syntax.enclosing(deepest, lambda n: n.type == "list")
    assert list_node == next(n for n in plain if n.type == "list")
    assert syntax.enclosing_definition(deepest) == next(n for n in plain if syntax.is_definition(n))
    assert syntax.enclosing_module(deepest) == plain[-2]
