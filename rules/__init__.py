"""The rule catalog: one module a rule, each defining ``RULE``."""
