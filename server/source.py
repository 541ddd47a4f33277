"""A document's text, its line index and its tree-sitter tree, kept in step.

Positions come in three shapes and all conversions live here:

* offsets: indices into the Python string (code points), used by findings and edits;
* bytes: UTF-8 offsets, used by tree-sitter nodes;
* client positions: ``(line, character)`` where ``character`` counts UTF-8, UTF-16 or
  UTF-32 units, whichever encoding the client negotiated.

Lines end at ``\\r\\n``, ``\\r`` or ``\\n`` and nowhere else: form feed, U+2028 and friends are
ordinary characters inside a line (``str.splitlines`` would split on them).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # tree-sitter is loaded by the first parse: showing cached findings needs none
    from tree_sitter import Node, Point, Tree

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-16", "utf-32")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Position:
    """A zero-based line and a column counted in some encoding's units."""

    line: int
    character: int


def _units(text: str, encoding: Encoding) -> int:
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _index_for_units(text: str, units: int, encoding: Encoding) -> int:
    """The string index inside ``text`` reached after ``units`` code units (clamped)."""
    if units <= 0:
        return 0
    if encoding == "utf-32" or text.isascii():
        return min(units, len(text))
    width = 1 if encoding == "utf-8" else 2
    seen = 0
    for index, ch in enumerate(text):
        code = ord(ch)
        if encoding == "utf-8":
            step = 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        else:
            step = width if code > 0xFFFF else 1
        if seen + step > units:
            return index
        seen += step
        if seen == units:
            return index + 1
    return len(text)


def line_starts(text: str) -> list[int]:
    """String offsets at which each line begins; a final empty line counts."""
    if "\r" not in text:
        return _starts(text.split("\n"), 1)
    if text.count("\r") == text.count("\n") == text.count("\r\n"):
        return _starts(text.split("\r\n"), 2)
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]  # mixed line endings


def byte_line_starts(data: bytes) -> list[int]:
    """The same for UTF-8 bytes (line breaks are single bytes there too)."""
    if b"\r" not in data:
        return _starts(data.split(b"\n"), 1)
    if data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n"):
        return _starts(data.split(b"\r\n"), 2)
    return [0] + [match.end() for match in _BYTE_LINE_BREAK.finditer(data)]


def _starts(lines: list[str] | list[bytes], width: int) -> list[int]:
    """Offsets of each line given the lines and the width of the break between them."""
    return list(accumulate(map(width.__add__, map(len, lines[:-1])), initial=0))


class Source:
    """Text, line index and syntax tree of one Elixir document.

    Edits are cheap: the text and its UTF-8 bytes are spliced, the tree is told about the edit,
    and the line index and the reparse wait until something needs them. A burst of keystrokes
    thus costs one incremental parse, not one per keystroke.
    """

    def __init__(self, text: str, path: str | None = None) -> None:
        self.path = path
        self._set_text(text, text.encode("utf-8", "surrogatepass"))
        self._tree: Tree | None = None  # parsed when first asked for
        self._stale = False

    def _set_text(self, text: str, data: bytes) -> None:
        self.text = text
        self.data = data
        self._ascii = len(data) == len(text)
        self._line_starts: list[int] | None = None
        self._byte_line_starts: list[int] | None = None
        self._newline: str | None = None
        self.tree_cache: Any = None
        """What its users derive from the current tree (query matches); dropped with it."""

    @property
    def is_ascii(self) -> bool:
        return self._ascii

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = line_starts(self.text)
        return self._line_starts

    @property
    def tree(self) -> Tree:
        """The syntax tree of the current text (reparsed incrementally after edits)."""
        if self._tree is None:
            from otp_thinking.parsing import parse

            self._tree = parse(self.data)
        elif self._stale:
            from otp_thinking.parsing import parse

            self._tree = parse(self.data, self._tree)
        self._stale = False
        return self._tree

    def release_tree(self) -> None:
        """Drop the tree to save memory; the next use parses the text afresh."""
        self._tree, self._stale, self.tree_cache = None, False, None

    # -- offsets and bytes -------------------------------------------------------------

    def _byte_starts(self) -> list[int]:
        if self._byte_line_starts is None:
            self._byte_line_starts = byte_line_starts(self.data)
        return self._byte_line_starts

    def byte_to_offset(self, byte: int) -> int:
        """String offset of a UTF-8 byte offset (as tree-sitter reports them)."""
        if self._ascii:
            return max(0, min(byte, len(self.text)))
        starts = self._byte_starts()
        line = max(0, bisect.bisect_right(starts, byte) - 1)
        chunk = self.data[starts[line] : byte]
        return self.line_starts[line] + len(chunk.decode("utf-8", "ignore"))

    def offset_to_byte(self, offset: int) -> int:
        if self.is_ascii:
            return max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        prefix = self.text[start:offset].encode("utf-8", "surrogatepass")
        return self._byte_starts()[line] + len(prefix)

    def node_span(self, node: Node) -> tuple[int, int]:
        """A node's start and end as string offsets."""
        start, end = node.start_byte, node.end_byte
        if self._ascii:  # `byte_to_offset` inlined: rules ask for thousands of spans
            size = len(self.text)
            return (start if start < size else size), (end if end < size else size)
        return self.byte_to_offset(start), self.byte_to_offset(end)

    def node_text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    # -- lines and client positions ---------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.line_starts, offset) - 1)

    def line_text(self, line: int) -> str:
        """The text of a line without its line break."""
        start = self.line_starts[line]
        end = self.line_starts[line + 1] if line + 1 < len(self.line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset_to_position(self, offset: int, encoding: Encoding = "utf-16") -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.line_starts[line]
        return Position(line, _units(self.text[start:offset], encoding))

    def position_to_offset(self, position: Position, encoding: Encoding = "utf-16") -> int:
        """String offset of a client position; past-the-end lines and columns are clamped."""
        if position.line < 0:
            return 0
        if position.line >= len(self.line_starts):
            return len(self.text)
        text = self.line_text(position.line)
        return self.line_starts[position.line] + _index_for_units(
            text, position.character, encoding
        )

    def column_of(self, offset: int) -> int:
        """Zero-based column in code points."""
        return offset - self.line_starts[self.line_of(offset)]

    def line_indent(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]

    @property
    def newline(self) -> str:
        """The file's own line ending (the first one found), ``\\n`` when it has none; read
        once per text (a fix asks for it, and 20,000 fixes of one file did)."""
        if self._newline is None:
            match = _LINE_BREAK.search(self.text)
            self._newline = match.group(0) if match else "\n"
        return self._newline

    # -- edits ------------------------------------------------------------------------

    def edit(self, start: int, end: int, new_text: str) -> None:
        """Replace ``text[start:end]``; the tree follows incrementally when next used."""
        start = max(0, min(start, len(self.text)))
        end = max(start, min(end, len(self.text)))
        old_data = self.data
        start_byte, old_end_byte = self.offset_to_byte(start), self.offset_to_byte(end)
        new_bytes = new_text.encode("utf-8", "surrogatepass")
        new_end_byte = start_byte + len(new_bytes)
        self._set_text(
            self.text[:start] + new_text + self.text[end:],
            old_data[:start_byte] + new_bytes + old_data[old_end_byte:],
        )
        if self._tree is None:
            return
        self._tree.edit(
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=new_end_byte,
            start_point=_point(old_data, start_byte),
            old_end_point=_point(old_data, old_end_byte),
            new_end_point=_point(self.data, new_end_byte),
        )
        self._stale = True

    def replace_all(self, text: str) -> None:
        self._set_text(text, text.encode("utf-8", "surrogatepass"))
        self._tree, self._stale = None, False

    def has_errors(self) -> bool:
        return self.tree.root_node.has_error


def _point(data: bytes, byte: int) -> Point:
    """tree-sitter's (row, byte column), where only ``\\n`` starts a row."""
    from tree_sitter import Point

    row = data.count(b"\n", 0, byte)
    column = byte - (data.rfind(b"\n", 0, byte) + 1)
    return Point(row, column)
