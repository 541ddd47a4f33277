"""Inline suppression comments and `.otp-thinking.toml` configuration."""

from __future__ import annotations

from pathlib import Path

from otp_thinking import config
from otp_thinking.engine import analyze
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace

CALL = "  def handle_info(_m, s), do: (Task.async(fn -> s end); {:noreply, s})\n"
TASK_ASYNC_ON, _ = config.from_mapping({"rules": {"task-async": "on"}})
"""OTP101 (on by default) named at its own severity: the rule these tests suppress."""


def _codes(text: str, config: config.Config = TASK_ASYNC_ON) -> list[tuple[int, str]]:
    source = Source(text, "lib/a.ex")
    return [(source.line_of(f.start), f.code) for f in analyze(source, config=config)]


def test_disable_next_line_by_code_and_by_name() -> None:
    for selector in ("OTP101", "task-async", "", "OTP999, task-async"):
        text = f"defmodule A do\n  # otp-thinking: disable-next-line {selector}\n{CALL}{CALL}end\n"
        assert _codes(text) == [(3, "OTP101")], selector


def test_disable_next_line_for_another_rule_keeps_the_finding() -> None:
    text = f"defmodule A do\n  # otp-thinking: disable-next-line OTP201\n{CALL}end\n"
    assert _codes(text) == [(2, "OTP101")]


def test_disable_line_and_disable_file() -> None:
    same_line = "defmodule A do\n  def handle_info(_m, s), do: (Task.async(fn -> s end); {:noreply, s}) # otp-thinking: disable-line\nend\n"
    assert _codes(same_line) == []
    whole_file = f"# otp-thinking: disable-file OTP101\ndefmodule A do\n{CALL}{CALL}end\n"
    assert _codes(whole_file) == []


def test_directive_inside_a_string_is_not_a_comment() -> None:
    text = f'defmodule A do\n  @x "# otp-thinking: disable-file"\n{CALL}end\n'
    assert _codes(text) == [(2, "OTP101")]


def test_rule_severity_and_off_by_code_or_name() -> None:
    text = f"defmodule A do\n{CALL}end\n"
    loud, _ = config.from_mapping({"rules": {"task-async": "error"}})
    assert [f.severity for f in analyze(Source(text, "lib/a.ex"), config=loud)] == ["error"]
    off, _ = config.from_mapping({"rules": {"OTP101": "off"}})
    assert _codes(text, config=off) == []


def test_bad_values_are_reported_and_defaults_apply() -> None:
    settings, problems = config.from_mapping(
        {"rules": {"OTP101": "loud"}, "paths": {"test": "x"}, "colour": 1, "names": {"registry": 3}}
    )
    assert settings == config.DEFAULT
    assert len(problems) == 4
    assert any("OTP101" in p and "loud" in p for p in problems)


def test_empty_lua_tables_sent_as_json_arrays_mean_no_settings() -> None:
    # Neovim encodes an empty Lua table as `[]`: `settings = { otpThinking = {} }` or
    # `rules = {}` must read as "nothing set", not as a wrong type.
    for data in ([], {"rules": [], "paths": [], "names": []}):
        settings, problems = config.from_mapping(data)
        assert (settings, problems) == (config.DEFAULT, [])
    settings, problems = config.from_mapping({"rules": {"OTP101": "off"}, "names": []})
    assert problems == [] and settings.rules == {"OTP101": "off"}


def test_unparsable_file_is_reported_and_defaults_apply(tmp_path: Path) -> None:
    (tmp_path / ".otp-thinking.toml").write_text("[rules\nOTP101 = ", "utf-8")
    problems: list[str] = []
    workspace = Workspace(report_config_problems=problems.extend)
    assert workspace.config_for(tmp_path / "lib" / "a.ex") == config.DEFAULT
    assert len(problems) == 1 and "cannot be read as TOML" in problems[0]


def test_nearest_file_upward_wins(tmp_path: Path) -> None:
    (tmp_path / ".otp-thinking.toml").write_text('[rules]\nOTP101 = "off"\n', "utf-8")
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / ".otp-thinking.toml").write_text(
        '[rules]\nOTP101 = "hint"\n', "utf-8"
    )
    workspace = Workspace()
    assert workspace.config_for(tmp_path / "lib" / "a.ex").rules == {"OTP101": "off"}
    assert workspace.config_for(tmp_path / "apps" / "web" / "lib" / "a.ex").rules == {
        "OTP101": "hint"
    }


def test_test_globs_make_code_short_lived(tmp_path: Path) -> None:
    text = f"defmodule A do\n{CALL}end\n"
    assert _codes(text) == [(1, "OTP101")]
    assert analyze(Source(text, "test/a_test.exs"), config=TASK_ASYNC_ON) == []
    assert analyze(Source(text, "apps/web/test/support/helper.ex"), config=TASK_ASYNC_ON) == []
    support = ("lib/shop/test_support/harness.ex", "apps/web/lib/web/test_helpers/conn.ex")
    for test_app in (
        "test_integrations/phoenix_app/lib/a.ex",
        "integration_test/pg/a.ex",
        *support,
    ):
        assert analyze(Source(text, test_app), config=TASK_ASYNC_ON) == []
    assert analyze(Source(text, "lib/test_runner/a.ex"), config=TASK_ASYNC_ON) != []
    custom, _ = config.from_mapping(
        {"rules": {"task-async": "on"}, "paths": {"test": ["lib/a.ex"]}}
    )
    assert analyze(Source(text, "lib/a.ex"), config=custom) == []


def test_a_preview_rule_is_off_until_turned_on() -> None:
    text = "defmodule A do\n  def get(pid), do: GenServer.call(pid, :get, :infinity)\nend\n"
    assert _codes(text, config=config.DEFAULT) == []
    timeout_on, _ = config.from_mapping({"rules": {"call-timeout-infinity": "on"}})
    assert [f.severity for f in analyze(Source(text, "lib/a.ex"), config=timeout_on)] == [
        "information"  # "on": the rule's own severity
    ]
    every, _ = config.from_mapping({"rules": {"preview": True}})
    assert _codes(text, config=every) == [(1, "OTP004")]
