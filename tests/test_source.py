"""Source: line index, conversions between offsets, bytes and client units, incremental edits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otp_thinking.source import ENCODINGS, Position, Source

LINE = 'x = "é👋世界e\u0301"; Task.async(f)'


def _units(text: str, encoding: str) -> int:
    return {
        "utf-8": len(text.encode("utf-8")),
        "utf-16": len(text.encode("utf-16-le")) // 2,
        "utf-32": len(text),
    }[encoding]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_columns_count_the_encodings_units(encoding: str) -> None:
    source = Source(f"first\n{LINE}\n")
    offset = source.text.index("Task")
    expected = Position(1, _units(LINE[: LINE.index("Task")], encoding))
    assert source.offset_to_position(offset, encoding) == expected  # type: ignore[arg-type]
    assert source.position_to_offset(expected, encoding) == offset  # type: ignore[arg-type]


def test_byte_offsets_from_tree_sitter_map_to_string_offsets() -> None:
    source = Source(f"{LINE}\n")
    call = source.tree.root_node.named_children[0].child_by_field_name("right")
    assert call is not None
    start, end = source.node_span(call)
    assert source.text[start:end].startswith('"é👋')


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\r\nb\r\nc", ["a", "b", "c"]),
        ("a\rb\nc", ["a", "b", "c"]),
        (
            's = "a\x0cb\u2028c\x85d"\n# e\x1cf\u2029g\nh',
            ['s = "a\x0cb\u2028c\x85d"', "# e\x1cf\u2029g", "h"],
        ),
    ],
)
def test_lines_break_only_on_cr_lf(text: str, lines: list[str]) -> None:
    source = Source(text)
    assert [source.line_text(i) for i in range(source.line_count)] == lines


def test_position_after_form_feed_and_line_separator_stays_on_its_line() -> None:
    text = 'a = "\x0c\u2028"; Task.async(f)\nb = 1\n'
    source = Source(text)
    offset = text.index("Task")
    assert source.offset_to_position(offset, "utf-16") == Position(0, offset)
    assert source.offset_to_position(text.index("b ="), "utf-16") == Position(1, 0)


def test_positions_past_the_end_are_clamped() -> None:
    source = Source("ab\ncd")
    assert source.position_to_offset(Position(0, 99), "utf-16") == 2
    assert source.position_to_offset(Position(7, 0), "utf-16") == 5
    assert source.position_to_offset(Position(1, 1), "utf-8") == 4


def test_a_split_surrogate_pair_column_does_not_land_inside_the_character() -> None:
    source = Source("👋x")
    assert source.position_to_offset(Position(0, 1), "utf-16") == 0
    assert source.position_to_offset(Position(0, 2), "utf-16") == 1


def test_crlf_file_keeps_its_line_ending() -> None:
    assert Source("a\r\nb\r\n").newline == "\r\n"
    assert Source("a").newline == "\n"


ALPHABET = st.sampled_from(
    list('ab (){}\n\r\t"#é👋世\u2028\x0c:.,|>') + ["do", "end", "Task.async(", "fn ->"]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(ALPHABET, max_size=40).map("".join),
    st.lists(
        st.tuples(
            st.integers(0, 80), st.integers(0, 10), st.lists(ALPHABET, max_size=5).map("".join)
        ),
        max_size=12,
    ),
)
def test_incremental_edits_equal_editing_a_plain_string(text: str, edits) -> None:  # type: ignore[no-untyped-def]
    source = Source(text)
    expected = text
    for start, length, new_text in edits:
        start = min(start, len(expected))
        end = min(start + length, len(expected))
        expected = expected[:start] + new_text + expected[end:]
        source.edit(start, end, new_text)
        assert source.text == expected
    fresh = Source(expected)
    assert source.line_starts == fresh.line_starts
    assert str(source.tree.root_node) == str(fresh.tree.root_node)
