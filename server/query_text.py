"""What text a tree-sitter query needs before it can match anything.

A pattern with ``(#eq? @name "Task")`` can only match a document whose text contains ``Task``;
``(#any-of? @f "send_after" "start_timer")`` needs one of its words, ``(#match? @k "^name:")``
the literal its expression starts with. Checking that with ``in`` on the document costs
microseconds, while running the query walks the whole tree: the engine skips queries whose words
are absent (and never compiles them at all in a process that never needs them).

Only predicates whose capture is certainly bound count: a capture inside an alternation
(``[...]``) or under an optional quantifier (``?``, ``*``) may stay unbound, and tree-sitter then
lets its predicate pass, so such predicates require nothing. Anything this reader does not
understand makes the whole query require nothing: skipping is an optimisation that must never
change a result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# One alternative list a pattern needs: at least one of these words must occur in the text.
Words = frozenset[str]
# A pattern's needs: every list must be satisfied. An empty tuple: the pattern needs nothing.
Needs = tuple[Words, ...]

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|;[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<capture>@[\w.\-]+)
  | (?P<quantifier>[?*+])
  | (?P<predicate>\#[\w\-]+[?!])
  | (?P<field>!?[\w\-]+:)
  | (?P<anchor>\.)
  | (?P<negated>![\w\-]+)
  | (?P<name>[\w\-.]+|_)
    """,
    re.VERBOSE,
)


class Unreadable(ValueError):
    """The query uses syntax this reader does not follow."""


@dataclass
class _Element:
    kind: str  # "node" for (...), "alternation" for [...], "leaf" for a name or string
    children: list[_Element] = field(default_factory=list)
    quantifier: str | None = None
    captures: list[str] = field(default_factory=list)
    predicate: tuple[str, list[str]] | None = None  # (name, arguments) for (#eq? ...)


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unreadable(f"unexpected {text[position : position + 20]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            found.append((kind, match.group()))
    return found


def _parse(text: str) -> list[_Element]:
    """Top-level elements of a query: each is one pattern."""
    root = _Element("alternation")
    stack = [root]
    for kind, value in _tokens(text):
        current = stack[-1]
        if current.predicate is not None and kind != "close":
            current.predicate[1].append(value)
        elif kind == "open":
            element = _Element("node" if value == "(" else "alternation")
            current.children.append(element)
            stack.append(element)
        elif kind == "close":
            if len(stack) == 1:
                raise Unreadable("unbalanced brackets")
            stack.pop()
        elif kind in ("quantifier", "capture"):
            if not current.children:
                raise Unreadable(f"{value} follows nothing")
            target = current.children[-1]
            if kind == "quantifier":
                target.quantifier = value
            else:
                target.captures.append(value[1:])
        elif kind == "predicate":
            if current.kind != "node" or current.children:
                raise Unreadable("a predicate outside (#name ...)")
            current.predicate = (value, [])
        elif kind in ("string", "name"):
            current.children.append(_Element("leaf"))
    if len(stack) != 1:
        raise Unreadable("unbalanced brackets")
    return root.children


def _walk(element: _Element, optional: bool, sure: set[str], predicates: list) -> None:
    optional = optional or element.quantifier in ("?", "*")
    if element.predicate is not None:
        predicates.append(element.predicate)
        return
    if not optional:
        sure.update(element.captures)
    for child in element.children:
        _walk(child, optional or element.kind == "alternation", sure, predicates)


def _unquote(value: str) -> str | None:
    if not (value.startswith('"') and value.endswith('"')) or "\\" in value:
        return None  # escapes: leave the predicate out rather than guess at them
    return value[1:-1]


def _pattern_needs(pattern: _Element) -> Needs:
    sure: set[str] = set()
    predicates: list[tuple[str, list[str]]] = []
    if pattern.kind == "alternation":
        # a top-level alternation is one pattern whose branches each may be the match
        _walk(pattern, True, sure, predicates)
    else:
        _walk(pattern, False, sure, predicates)
    needs = []
    for name, arguments in predicates:
        if name not in ("#eq?", "#any-of?", "#match?") or len(arguments) < 2:
            continue
        capture, *values = arguments
        if not capture.startswith("@") or capture[1:] not in sure:
            continue
        words = [_unquote(v) for v in values]
        if name != "#any-of?" and len(words) != 1:
            continue
        if name == "#match?":
            found = _regex_words(words[0]) if words[0] else None
            if found is not None:
                needs.append(found)
        elif all(w for w in words):
            needs.append(frozenset(w for w in words if w))
    return tuple(needs)


_LITERAL = re.compile(r"[A-Za-z0-9_:]+")
"""Characters that stand for themselves in a regular expression."""
_ALTERNATIVES = re.compile(r"\(([A-Za-z0-9_:]+(?:\|[A-Za-z0-9_:]+)*)\)")


def _regex_words(regex: str) -> Words | None:
    """Words one of which every text ``regex`` finds a match in contains: the literal it
    starts with (``^name:``, ``^:start(_link)?$``), or the alternatives of a leading group of
    literals (``^(String|List)$``); None for any other shape."""
    body = regex.removeprefix("^")
    group = _ALTERNATIVES.match(body)
    if group is not None:
        rest = body[group.end() :]
        if rest[:1] in ("?", "*", "{") or _alternation(rest):
            return None  # the group may match nothing, or the whole is an alternation
        return frozenset(group.group(1).split("|"))
    literal = _LITERAL.match(body)
    if literal is None or _alternation(body):
        return None
    word = literal.group()
    if body[literal.end() : literal.end() + 1] in ("?", "*", "{"):
        word = word[:-1]  # its last character may be absent
    return frozenset({word}) if word else None


def query_needs(text: str, pattern_count: int | None = None) -> tuple[Needs, ...] | None:
    """Each pattern's needs, in pattern order; None when the query cannot be read with
    certainty (then it always runs). ``pattern_count``, when known, must agree."""
    try:
        patterns = _parse(text)
    except Unreadable:
        return None
    if pattern_count is not None and len(patterns) != pattern_count:
        return None
    return tuple(_pattern_needs(p) for p in patterns)


def satisfied(needs: Needs, has_word: Callable[[str], bool]) -> bool:
    return all(any(has_word(word) for word in words) for words in needs)


def _alternation(regex: str) -> bool:
    """Whether ``regex`` has a ``|`` outside any group or set (so a match may be of either
    side); ``regex`` has no backslash (`_unquote` leaves those out)."""
    depth, in_set = 0, False
    for char in regex:
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False
