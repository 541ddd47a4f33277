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

    def hides(self, finding: Finding, line: int) -> bool:
        for selectors in (self.file, self.by_line.get(line, set())):
            if selectors & {"*", finding.code, finding.name}:
                return True
        return False


def _selectors(rest: str) -> set[str]:
    words = {w for w in re.split(r"[\s,]+", rest.strip()) if w}
    return {w.upper() if w.lower().startswith("otp") else w.lower() for w in words} or set(ALL)


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
        line = source.line_of(source.byte_to_offset(comment.start_byte))
        if kind == "disable-file":
            found.file |= selectors
        else:
            target = line + 1 if kind == "disable-next-line" else line
            found.by_line.setdefault(target, set()).update(selectors)
    return found
