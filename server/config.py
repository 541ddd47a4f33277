"""Configuration: `.otp-thinking.toml` and the same keys from the editor.

Data only: nothing in a workspace is ever executed. Bad values are reported as messages and
replaced by defaults; a bad file never stops the analysis.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from otp_thinking.findings import SEVERITIES

CONFIG_FILE = ".otp-thinking.toml"
MAX_CONFIG_BYTES = 1 << 20

DEFAULT_TEST_GLOBS = (
    "test/**",
    "**/test/**",
    "integration_test/**",
    "**/integration_test/**",
    "test_*/**",
    "**/test_support/**",
    "**/test_helpers/**",
    "**/*.exs",
    "*.exs",
)
"""Short-lived code by default: tests, integration tests, the test apps kept at the project's
top (``test_integrations/phoenix_app/lib/..``; a ``lib/test_runner/`` is production code),
helpers for tests kept under `lib/` (``lib/shop/test_support/``, ``lib/shop/test_helpers/``:
compiled with the app, run only by its tests) and scripts."""
DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = ()
NAME_KEYS = ("task_supervisor", "registry", "pg_scope")


@dataclass(frozen=True)
class Config:
    rules: Mapping[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE_GLOBS
    test: tuple[str, ...] = DEFAULT_TEST_GLOBS
    names: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None  # where it was read from, for messages
    preview: bool = False
    """`[rules] preview = true`: preview rules are on."""

    def rule_setting(self, code: str, name: str) -> str | None:
        """``"off"``, ``"on"`` (its own severity), a severity, or None for the rule's default
        (settings are keyed by code; a name given in the settings was turned into its code
        when read)."""
        return self.rules.get(code, self.rules.get(name))


DEFAULT = Config()


def from_mapping(
    data: Mapping[str, Any], base: Config = DEFAULT, where: str = "configuration"
) -> tuple[Config, list[str]]:
    """Build a Config over ``base`` from parsed TOML or editor settings; also return problems."""
    errors: list[str] = []
    config = base
    data = _empty_table(data)
    if not isinstance(data, Mapping):
        return base, [f"{where}: expected a table of settings, got {type(data).__name__}"]
    for key, value in data.items():
        value = _empty_table(value)
        if key == "rules":
            settings, preview = _rules(value, where, errors)
            config = replace(config, rules={**config.rules, **settings})
            if preview is not None:
                config = replace(config, preview=preview)
        elif key == "paths":
            config = _paths(config, value, where, errors)
        elif key == "names":
            config = replace(config, names={**config.names, **_names(value, where, errors)})
        else:
            errors.append(f"{where}: unknown key {key!r} ignored")
    return config, errors


def _empty_table(value: Any) -> Any:
    """An empty list stands for an empty table: Lua editors (Neovim) send `{}` as `[]`."""
    return {} if isinstance(value, list) and not value else value


def _rules(value: Any, where: str, errors: list[str]) -> tuple[dict[str, str], bool | None]:
    """Settings by rule code (codes and names in any case; a code wins over its rule's name),
    and ``preview`` when the table sets it."""
    from otp_thinking.registry import find_rule  # the rules import this module

    if not isinstance(value, Mapping):
        errors.append(f'{where}: [rules] must be a table of rule = "on", "off" or a severity')
        return {}, None
    allowed = ("off", "on", *SEVERITIES)
    by_code: dict[str, str] = {}
    by_name: dict[str, str] = {}
    preview = None
    for key, setting in value.items():
        if str(key).lower() == "preview":
            if isinstance(setting, bool):
                preview = setting
            else:
                errors.append(f"{where}: rules.preview must be true or false; false applies")
            continue
        rule = find_rule(str(key))
        if rule is None:
            errors.append(
                f"{where}: rules.{key}: no such rule code or name (see `otp-thinking rules`)"
            )
            continue
        normal = setting.lower() if isinstance(setting, str) else setting
        if normal == "info":
            normal = "information"
        if normal not in allowed:
            errors.append(
                f"{where}: rules.{key} = {setting!r} is not one of {', '.join(allowed)}; "
                "the rule's default applies"
            )
            continue
        (by_code if rule.code == str(key).upper() else by_name)[rule.code] = normal
    return {**by_name, **by_code}, preview


def _paths(config: Config, value: Any, where: str, errors: list[str]) -> Config:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: [paths] must be a table with exclude and test lists")
        return config
    for key, globs in value.items():
        if key not in ("exclude", "test"):
            errors.append(f"{where}: unknown key paths.{key} ignored")
        elif not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
            errors.append(f"{where}: paths.{key} must be a list of glob strings; default kept")
        elif key == "exclude":
            config = replace(config, exclude=tuple(globs))
        else:
            config = replace(config, test=tuple(globs))
    return config


def _names(value: Any, where: str, errors: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: [names] must be a table")
        return {}
    names = {}
    for key, name in value.items():
        if key not in NAME_KEYS:
            errors.append(f"{where}: unknown key names.{key} ignored")
        elif not isinstance(name, str) or not _is_name(key, name.strip()):
            example = "MyApp.PG or :my_scope" if key == "pg_scope" else "MyApp.TaskSupervisor"
            errors.append(
                f"{where}: names.{key} = {name!r} is not an Elixir module name such as "
                f"{example}; ignored"
            )
        else:
            names[key] = name.strip()
    return names


_ALIAS = re.compile(r"[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*")
_ATOM = re.compile(r":[a-z_][A-Za-z0-9_@]*")


def _is_name(key: str, name: str) -> bool:
    """An Elixir alias (the text goes into code as it is); a `:pg` scope may be an atom too."""
    return bool(_ALIAS.fullmatch(name) or (key == "pg_scope" and _ATOM.fullmatch(name)))


def find_config_file(start: Path, above: bool = True) -> Path | None:
    """The nearest `.otp-thinking.toml` in ``start`` (a file's folder) or (``above``) above it;
    ``start`` made absolute first, so that `.` looks above the current folder too."""
    start = Path(os.path.abspath(start))
    for folder in (start, *start.parents) if above else (start,):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def read_config_file(path: Path, base: Config = DEFAULT) -> tuple[Config, list[str]]:
    """Read one config file; any problem becomes a message and the defaults stay."""
    import tomllib  # read only when a project has a config file

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            return base, [f"{path}: larger than {MAX_CONFIG_BYTES} bytes; defaults apply"]
        data = tomllib.loads(raw.decode("utf-8"))
    except RecursionError:  # tomllib recurses once per nested array or inline table
        return base, [f"{path}: cannot be read as TOML (nested too deeply); defaults apply"]
    except (OSError, ValueError) as error:  # TOMLDecodeError and UnicodeDecodeError included
        return base, [f"{path}: cannot be read as TOML ({error}); defaults apply"]
    config, errors = from_mapping(data, base, str(path))
    return replace(config, source=str(path)), errors
