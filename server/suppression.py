"""Inline suppression comments:

    # otp-thinking: disable-next-line OTP101
    # otp-thinking: disable-line task-async
    # otp-thinking: disable-file OTP101, OTP201

Codes or names, comma- or space-separated; none means every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from otp_thinking.findings import Finding
from otp_thinking.parsing import compile_query, matches
from otp_thinking.source import Source

DIRECTIVE = re.compile(
    r"#\s*otp-thinking:\s*(disable-next-line|disable-line|disable-file)\b([^\n]*)"
)
_COMMENTS = compile_query("(comment) @comment")

ALL = frozenset({"*"})


@dataclass
class Suppressions:
    by_line: dict[int, set[str]] = field(default_factory=dict)
    file: set[str] = field(default_factory=set)
    unknown: list[tuple[int, int, str]] = field(default_factory=list)
    """Words that name no rule: (start, end) offsets of the comment, the word."""

    def hides(self, finding: Finding, line: int) -> bool:
        for selectors in (self.file, self.by_line.get(line, set())):
            if selectors & {"*", finding.code, finding.name}:
                return True
        return False


def _selectors(rest: str) -> set[str]:
    words = {w for w in re.split(r"[\s,]+", rest.strip()) if w}
    return {w.upper() if w.lower().startswith("otp") else w.lower() for w in words} or set(ALL)


def _unknown(selectors: set[str]) -> list[str]:
    from otp_thinking.registry import find_rule  # the rules import what this module imports

    return sorted(word for word in selectors if word != "*" and find_rule(word) is None)


def unknown_rule_messages(source: Source) -> list[str]:
    """One message per word of a suppression comment that names no rule (it hides nothing)."""
    return [
        f"{source.path or '<buffer>'}:{source.line_of(start) + 1}: {word!r} in this "
        "otp-thinking comment is no rule code or name (see `otp-thinking rules`); it hides nothing"
        for start, _end, word in read_suppressions(source).unknown
    ]


def read_suppressions(source: Source) -> Suppressions:
    found = Suppressions()
    if "otp-thinking:" not in source.text:
        return found
    for captures in matches(_COMMENTS, source.tree.root_node):
        comment = captures["comment"][0]
        directive = DIRECTIVE.search(source.node_text(comment))
        if directive is None:
            continue
        kind, selectors = directive.group(1), _selectors(directive.group(2))
        start, end = source.node_span(comment)
        found.unknown.extend((start, end, word) for word in _unknown(selectors))
        line = source.line_of(source.byte_to_offset(comment.start_byte))
        if kind == "disable-file":
            found.file |= selectors
        else:
            target = line + 1 if kind == "disable-next-line" else line
            found.by_line.setdefault(target, set()).update(selectors)
    return found
