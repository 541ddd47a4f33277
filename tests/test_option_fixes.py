"""Fix text of the rules that add an option to a list: OTP501 (restart intensity) and OTP601
(read_concurrency), in each layout."""

from __future__ import annotations

import textwrap

import pytest

from otp_thinking.engine import analyze
from otp_thinking.findings import apply_edits
from otp_thinking.registry import find_rule
from otp_thinking.source import Source


def _fix_all(code: str, rule_code: str) -> str:
    text = textwrap.dedent(code)
    rule = find_rule(rule_code)
    assert rule is not None
    findings = analyze(Source(text, "lib/app/mod.ex"), rules=[rule])
    assert findings and all(f.fix is not None and f.fix.safety == "safe" for f in findings)
    return apply_edits(text, [e for f in findings if f.fix for e in f.fix.edits])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "Supervisor.init(children, strategy: :one_for_one)",
            "Supervisor.init(children, strategy: :one_for_one, max_restarts: 3, max_seconds: 5)",
        ),
        (
            "DynamicSupervisor.init(strategy: :one_for_one)",
            "DynamicSupervisor.init(strategy: :one_for_one, max_restarts: 3, max_seconds: 5)",
        ),
        (
            "DynamicSupervisor.start_link([])",
            "DynamicSupervisor.start_link([max_restarts: 3, max_seconds: 5])",
        ),
        (
            "[{DynamicSupervisor, name: A.Sup}]",
            "[{DynamicSupervisor, name: A.Sup, max_restarts: 3, max_seconds: 5}]",
        ),
    ],
)
def test_restart_intensity_on_one_line(before: str, after: str) -> None:
    code = f"defmodule A.Sup do\n  def init(children), do: {before}\nend\n"
    assert _fix_all(code, "OTP501") == code.replace(before, after)


def test_restart_intensity_one_option_per_line() -> None:
    fixed = _fix_all(
        """\
        defmodule A.Sup do
          def init(children) do
            Supervisor.init(
              children,
              strategy: :rest_for_one,
              name: A.Sup
            )
          end
        end
        """,
        "OTP501",
    )
    assert "      name: A.Sup,\n      max_restarts: 3,\n      max_seconds: 5\n    )" in fixed


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("[:set, :named_table]", "[:set, :named_table, read_concurrency: true]"),
        ("[:public, {:keypos, 2}]", "[:public, {:keypos, 2}, read_concurrency: true]"),
        (
            "[:named_table, compressed: true]",
            "[:named_table, compressed: true, read_concurrency: true]",
        ),
    ],
)
def test_read_concurrency_on_one_line(before: str, after: str) -> None:
    code = f"defmodule A do\n  def t, do: :ets.new(:t, {before})\nend\n"
    assert _fix_all(code, "OTP601") == code.replace(before, after)


def test_read_concurrency_one_option_per_line_keeps_a_trailing_comma() -> None:
    fixed = _fix_all(
        """\
        defmodule A do
          def t do
            :ets.new(:t, [
              :set,
              :public,
            ])
          end
        end
        """,
        "OTP601",
    )
    assert "      :public,\n      read_concurrency: true,\n    ])" in fixed


def test_read_concurrency_has_no_fix_for_options_in_an_attribute() -> None:
    text = "defmodule A do\n  @opts [:public]\n  def t, do: :ets.new(:t, @opts)\nend\n"
    rule = find_rule("OTP601")
    assert rule is not None
    (finding,) = analyze(Source(text, "lib/a.ex"), rules=[rule])
    assert finding.fix is None
    assert finding.message.endswith("add read_concurrency: true to @opts.")
