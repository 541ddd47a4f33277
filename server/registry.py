"""Finds every rule module in `otp_thinking.rules`; adding a rule is adding a file there."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from typing import Any

from otp_thinking import rules as rules_package
from otp_thinking.config import DEFAULT, Config
from otp_thinking.rule import Rule


@cache
def all_rules() -> tuple[Rule, ...]:
    return tuple(rule for _module, rule in _discovered())


@cache
def _discovered() -> tuple[tuple[str, Rule], ...]:
    """Each rule module's name and its rule, by code."""
    found: list[tuple[str, Rule]] = []
    for module_info in pkgutil.iter_modules(rules_package.__path__):
        if module_info.name.startswith("_"):
            continue
        name = f"{rules_package.__name__}.{module_info.name}"
        rule = getattr(importlib.import_module(name), "RULE", None)
        if isinstance(rule, Rule):
            found.append((name, rule))
    return tuple(sorted(found, key=lambda item: item[1].code))


def find_rule(code_or_name: str) -> Rule | None:
    """The rule with this code or name, in any case."""
    return next((rule for rule in all_rules() if rule.named_by(code_or_name)), None)


def enabled_rules(
    config: Config = DEFAULT,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    rules: Iterable[Rule] | None = None,
) -> list[Rule]:
    """The rules of ``rules`` (None: every rule) that ``config``, ``--select`` and
    ``--ignore`` leave on."""
    selected = list(select or [])
    ignored = list(ignore or [])
    chosen = []
    for rule in all_rules() if rules is None else rules:
        setting = config.rule_setting(rule.code, rule.name)
        if setting == "off":
            continue
        if rule.preview and not _asked_for(rule, config, setting, selected):
            continue
        if selected and not any(rule.matches_selector(s) for s in selected):
            continue
        if any(rule.matches_selector(s) for s in ignored):
            continue
        chosen.append(rule)
    return chosen


def _asked_for(rule: Rule, config: Config, setting: str | None, selected: list[str]) -> bool:
    """A preview rule runs when preview rules are on, or when it is named: a severity for it
    in the settings, or its code or name (not a prefix) in ``--select``."""
    return config.preview or setting is not None or any(rule.named_by(s) for s in selected)


# -- the rules without their modules -------------------------------------------------------
#
# Importing the rule modules (and the analysis they import) costs more than analysing a small
# file. The cache on disk keeps what choosing the rules and skipping them by their words needs
# (`manifest`), so that a run where one file changed imports only the rules that can fire in
# it (`load`), and none when no rule can.

Manifest = tuple[tuple[str, str, bool, bool, tuple[str, ...], str], ...]
"""Each rule's code, name, whether it is a preview rule, whether it reads the project index,
its words and its module."""


def manifest() -> Manifest:
    return tuple(
        (rule.code, rule.name, rule.preview, rule.project_files is not None, rule.words, module)
        for module, rule in _discovered()
    )


def load(module: str, code: str) -> Rule | None:
    """The rule ``code`` of the rule module ``module``, imported alone (None: not there)."""
    if not module.startswith(f"{rules_package.__name__}."):
        return None
    try:
        rule = getattr(importlib.import_module(module), "RULE", None)
    except ImportError:
        return None
    return rule if isinstance(rule, Rule) and rule.code == code else None


def _not_loaded(context: Any) -> Iterable[Any]:
    raise RuntimeError("a rule read from a manifest has no check")


def _reads_index(summary: Any) -> bool:
    raise RuntimeError("a rule read from a manifest has no project_files")


def stand_ins(found: Manifest) -> tuple[Rule, ...]:
    """Rules as `manifest` describes them, to choose and skip by words only: their check is
    not loaded."""
    return tuple(
        Rule(
            code,
            name,
            "warning",
            "",
            "",
            _not_loaded,
            words=words,
            preview=preview,
            project_files=_reads_index if project_wide else None,
        )
        for code, name, preview, project_wide, words, _module in found
    )
