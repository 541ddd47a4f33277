"""What a rule is: code, name, severity, doc and a check that turns tree matches into findings.

A rule lives in one module of `otp_thinking.rules` that defines ``RULE = Rule(...)``; the registry
finds it there and nothing else lists rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otp_thinking.findings import Finding, Severity

if TYPE_CHECKING:
    from otp_thinking.context import Context
    from otp_thinking.model.summary import FileSummary


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    """One line: what the rule flags (the `rules` listing and SARIF short description)."""
    doc: str
    """Markdown with the headings What it flags / Why it matters / Example / Fix."""
    check: Callable[[Context], Iterable[Finding]]
    words: tuple[str, ...] = ()
    """The rule cannot fire in a text that contains none of these (the engine then skips it
    without looking at the tree); empty: no such promise. Every rule firing in a fixture
    proves its words, and `tests/test_rule_words.py` checks that skipping changes no finding."""
    production_only: bool = False
    """Silent in short-lived code: tests, `.exs` scripts and Mix tasks (`modules.mix_task`)."""
    fixable: bool = False
    preview: bool = False
    """Off unless asked for: `[rules] preview = true`, or the rule's code or name set in
    `[rules]` or given to ``--select`` (a rule still earning its place on real code)."""
    project_files: Callable[[FileSummary], bool] | None = None
    """For a rule that reads the project index (``context.project.index``): which files, by
    their summary, it can fire in. The CLI runs such rules once the whole index is built, and
    only on those files. None for rules that read only the file itself."""

    def may_fire(self, has_word: Callable[[str], bool]) -> bool:
        """False when the text (asked through ``has_word``) has none of the rule's words."""
        return not self.words or any(has_word(word) for word in self.words)

    def named_by(self, selector: str) -> bool:
        """``selector`` is this rule's code or name, in any case."""
        wanted = selector.strip()
        return wanted.upper() == self.code or wanted.lower() == self.name

    def matches_selector(self, selector: str) -> bool:
        """Its code or name, or a prefix of its code (``OTP1``), in any case."""
        prefix = selector.strip().upper()
        return self.named_by(selector) or (
            0 < len(prefix) < len(self.code) and self.code.startswith(prefix)
        )
