"""The Elixir grammar, one parser per thread, and queries compiled once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import tree_sitter_elixir
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

LANGUAGE = Language(tree_sitter_elixir.language())

_local = threading.local()

Captures = dict[str, list[Node]]


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(LANGUAGE)
    return parser


def parse(data: bytes, old_tree: Tree | None = None) -> Tree:
    if old_tree is None:
        return _parser().parse(data)
    return _parser().parse(data, old_tree)


def compile_query(text: str) -> Query:
    """Compile a query at import time; a typo fails loudly when the rule module loads."""
    return Query(LANGUAGE, text)


def matches(query: Query, node: Node) -> Iterator[Captures]:
    """Each match of ``query`` under ``node`` as a dict of capture name to nodes."""
    for _pattern, captures in QueryCursor(query).matches(node):
        yield captures
