"""Finds every rule module in `otp_thinking.rules`; adding a rule is adding a file there."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from otp_thinking import rules as rules_package
from otp_thinking.rule import Rule


@cache
def all_rules() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for module_info in pkgutil.iter_modules(rules_package.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{rules_package.__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            found.append(rule)
    return tuple(sorted(found, key=lambda rule: rule.code))


def find_rule(code_or_name: str) -> Rule | None:
    """The rule with this code or name, in any case."""
    return next((rule for rule in all_rules() if rule.named_by(code_or_name)), None)
