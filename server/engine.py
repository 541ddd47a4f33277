"""The analysis: run every enabled rule over one document and return its findings.

Pure: text and settings in, findings out; no I/O and no LSP types.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from otp_thinking.config import DEFAULT, Config
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.project import EMPTY, ProjectContext
from otp_thinking.registry import enabled_rules as enabled_rules
from otp_thinking.rule import Rule
from otp_thinking.source import Source
from otp_thinking.suppression import read_suppressions

log = logging.getLogger("otp_thinking")


def analyze(
    source: Source,
    *,
    config: Config = DEFAULT,
    project: ProjectContext = EMPTY,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """Findings of every enabled rule, with configured severities, minus suppressed ones."""
    context = Context(source, config=config, project=project)
    chosen = enabled_rules(config) if rules is None else list(rules)
    findings: list[Finding] = []
    has_word = _word_finder(source.text)
    for rule in chosen:
        if rule.may_fire(has_word):
            findings.extend(_run(rule, context))
    suppressions = read_suppressions(source)
    kept = [f for f in findings if not suppressions.hides(f, source.line_of(f.start))]
    return sorted(kept, key=lambda f: (f.start, f.end, f.code))


def _word_finder(text: str) -> Callable[[str], bool]:
    """``word in text``, each word looked for once (rules share words such as `GenServer`)."""
    found: dict[str, bool] = {}

    def has_word(word: str) -> bool:
        present = found.get(word)
        if present is None:
            present = found[word] = word in text
        return present

    return has_word


def _run(rule: Rule, context: Context) -> list[Finding]:
    setting = context.config.rule_setting(rule.code, rule.name)
    try:
        found = list(rule.check(context))
    except Exception:
        log.exception("rule %s failed on %s", rule.code, context.path or "<buffer>")
        return []
    if rule.production_only:
        found = [f for f in found if not context.short_lived_at(f.start)]
    if setting not in (None, "off", "on"):  # "on": enabled at the rule's own severity
        found = [f.with_severity(setting) for f in found]  # type: ignore[arg-type]
    return found
