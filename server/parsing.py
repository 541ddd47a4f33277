"""The Elixir grammar, one parser per thread, and queries compiled when first needed.

Compiling a tree-sitter query costs about 20 ms with this grammar, whatever its size: more than
parsing a typical file, and with dozens of queries the bulk of a short run's start-up. So
`compile_query` only records a query's source; it is compiled the first time it runs, or as part
of a pack that runs many queries in one walk (`query_pack.py`). A typo thus fails when the query
first runs, not at import; `tests/test_queries.py` compiles every query the package defines.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator

import tree_sitter_elixir
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from otp_thinking.query_text import Needs, query_needs, satisfied

LANGUAGE = Language(tree_sitter_elixir.language())

_local = threading.local()
log = logging.getLogger("otp_thinking")

Captures = dict[str, list[Node]]


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(LANGUAGE)
    return parser


_recent: deque[Tree] = deque(maxlen=8)
_on_forget: list[Callable[[], None]] = []


def parse(data: bytes, old_tree: Tree | None = None) -> Tree:
    tree = _parser().parse(data) if old_tree is None else _parser().parse(data, old_tree)
    if len(_recent) == _recent.maxlen:
        for forget in _on_forget:
            forget()
    _recent.appendleft(tree)
    return tree


def recall(tree: Tree) -> None:
    """Count ``tree``, parsed earlier, among the recent ones again (as `parse` counts a new
    one): it is analysed once more, and `syntax.parent` records only a recent tree's parents."""
    if any(recent is tree for recent in _recent):
        return
    if len(_recent) == _recent.maxlen:
        for forget in _on_forget:
            forget()
    _recent.appendleft(tree)


def on_forget(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever a tree leaves the recent ones: what was remembered about
    nodes (which keep their tree alive) is dropped then, so memory stays bounded."""
    _on_forget.append(callback)


def recent_trees() -> list[Tree]:
    """The trees parsed last, newest first (where `syntax.parent` looks for a deep node's)."""
    return list(_recent)


class LazyQuery:
    """A query's source, compiled on first use, and the words its patterns need."""

    __slots__ = ("source", "origin", "_query", "_needs")

    def __init__(self, source: str, origin: str = "") -> None:
        self.source = source
        self.origin = origin  # the module that defined it, for messages
        self._query: Query | None = None
        self._needs: tuple[Needs, ...] | None | bool = False  # False: not read yet

    @property
    def query(self) -> Query:
        if self._query is None:
            self._query = Query(LANGUAGE, self.source)
            self.check_pattern_count(self._query.pattern_count)
        return self._query

    @property
    def compiled(self) -> bool:
        """Whether it has been compiled (alone)."""
        return self._query is not None

    @property
    def needs(self) -> tuple[Needs, ...] | None:
        """What text each pattern needs (see `query_text.py`); None: it may match anything."""
        if self._needs is False:
            self._needs = query_needs(self.source)
        return self._needs  # type: ignore[return-value]

    def may_match(self, has_word: Callable[[str], bool]) -> bool:
        """False only when no pattern can match a text without the words it needs."""
        needs = self.needs
        return needs is None or any(satisfied(pattern, has_word) for pattern in needs)

    def check_pattern_count(self, count: int) -> None:
        """Trust the words only if the reader saw the patterns tree-sitter compiled."""
        needs = self.needs
        if needs is not None and len(needs) != count:
            log.warning("query from %s: %d patterns, read %d", self.origin, count, len(needs))
            self._needs = None

    def __repr__(self) -> str:
        return f"<query from {self.origin}: {' '.join(self.source.split())[:60]}>"


AnyQuery = LazyQuery | Query

QUERIES: list[LazyQuery] = []
"""Every query `compile_query` has made (the test suite compiles them all)."""


def compile_query(text: str) -> LazyQuery:
    """Define a query (at import time, once); it is compiled when first run."""
    caller = sys._getframe(1).f_globals.get("__name__", "")
    query = LazyQuery(text, caller)
    QUERIES.append(query)
    return query


def compiled(query: AnyQuery) -> Query:
    return query.query if isinstance(query, LazyQuery) else query


def matches(query: AnyQuery, node: Node) -> Iterator[Captures]:
    """Each match of ``query`` under ``node`` as a dict of capture name to nodes."""
    for _pattern, captures in pattern_matches(compiled(query), node):
        yield captures


# -- very deep trees -----------------------------------------------------------------------
#
# tree-sitter's query cursor keeps the depth at which a match started in 16 bits: below 65,535
# levels under the node a query starts from, it matches nothing, and slowly (20,000 nested
# `case`s are 80,000 levels deep). A tree that deep is queried in slices of SLICE_DEPTH levels:
# the first from the node asked, starting no match below SLICE_DEPTH (the cursor then does not
# descend further either), the next from every node one level deeper, and so on. Each level is
# searched by exactly one slice, so the matches are those of one unlimited run, put back in
# source order. Whether a tree is that deep is read from a sample of its nodes' depths, which
# costs a fraction of a parse; ordinary files, with fewer nodes than UNSLICED_DEPTH, not even
# that.

UNSLICED_DEPTH = 64_000
"""A tree at most this deep is queried in one run (tree-sitter counts to 65,535; the rest is
room for the depth of a pattern below where it starts)."""
SLICE_DEPTH = 60_000
"""Levels one query run searches in a deeper tree."""
PROBE_STEP = 1_000
"""Every this many nodes (in the order of a walk down) one's depth is read (`_sampled_depth`)."""


def pattern_matches(
    query: Query, node: Node, byte_range: tuple[int, int] | None = None
) -> Iterator[tuple[int, Captures]]:
    """``QueryCursor(query).matches(node)``, in slices when the tree is too deep for it;
    only matches intersecting ``byte_range`` when one is given."""
    starts = slice_starts(node)
    if starts is None:
        yield from _cursor_in(query, byte_range).matches(node)
        return
    found = []
    for start in starts:
        if byte_range is not None and not (
            start.start_byte < byte_range[1] and byte_range[0] < start.end_byte
        ):
            continue  # a slice holds only its start's subtree
        cursor = _cursor_in(query, byte_range)
        cursor.set_max_start_depth(SLICE_DEPTH)
        found.extend(cursor.matches(start))
    found.sort(key=_match_order)  # in source order, as one run gives them
    yield from found


def _cursor_in(query: Query, byte_range: tuple[int, int] | None) -> QueryCursor:
    cursor = QueryCursor(query)
    if byte_range is not None:
        cursor.set_byte_range(*byte_range)
    return cursor


def _match_order(match: tuple[int, Captures]) -> tuple[int, int]:
    pattern, captures = match
    return min(node.start_byte for nodes in captures.values() for node in nodes), pattern


def _sampled_depth(node: Node) -> int:
    """The greatest depth among every PROBE_STEP-th node under ``node``: the subtree is at
    most PROBE_STEP levels deeper. (A node at depth D has its PROBE_STEP-th ancestor's subtree
    of PROBE_STEP nodes after it, in which one is sampled, at a depth of at least
    D - PROBE_STEP.) tree-sitter moves to a node by its index without visiting the nodes
    between, so this costs a few hundred moves where a walk in Python would visit every node."""
    cursor = node.walk()
    deepest = 0
    for index in range(PROBE_STEP, node.descendant_count, PROBE_STEP):
        cursor.goto_descendant(index)
        deepest = max(deepest, cursor.depth)
    return deepest


_slices: dict[tuple[Node, int], list[Node] | None] = {}
on_forget(_slices.clear)


def slice_starts(node: Node) -> list[Node] | None:
    """The nodes the slices of ``node``'s subtree start from (``node`` first), or None when
    it is queried in one run. Found by a walk down that skips every subtree with too few
    nodes to reach the next slice."""
    if node.descendant_count <= UNSLICED_DEPTH:
        return None
    limit = SLICE_DEPTH
    key = (node, limit)
    if key in _slices:
        return _slices[key]
    if _sampled_depth(node) + PROBE_STEP <= UNSLICED_DEPTH:
        _slices[key] = None
        return None
    starts = [node]
    for start in starts:  # grows as deeper slices are found
        stack = [(start, 0)]
        while stack:
            current, level = stack.pop()
            if level + current.descendant_count <= limit:
                continue  # every node below is within this slice
            if level > limit:
                starts.append(current)
                continue
            stack.extend((child, level + 1) for child in reversed(current.children))
    found = _slices[key] = starts if len(starts) > 1 else None
    return found
