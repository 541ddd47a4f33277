"""Fix text of the rule that adds an option to a list, OTP601 (read_concurrency), in each
layout."""

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
        ("[:set, :named_table]", "[:set, :named_table, read_concurrency: true]"),
        ("[:public, {:keypos, 2}]", "[:public, {:keypos, 2}, read_concurrency: true]"),
        (
            "[:named_table, compressed: true]",
            "[:named_table, compressed: true, read_concurrency: true]",
        ),
    ],
)
def test_read_concurrency_on_one_line(before: str, after: str) -> None:
    code = (
        "defmodule A do\n  use GenServer\n"
        f"  def init(_), do: {{:ok, :ets.new(:t, {before})}}\n"
        "  def get(table, key), do: :ets.lookup(table, key)\nend\n"
    )
    assert _fix_all(code, "OTP601") == code.replace(before, after)


def test_read_concurrency_one_option_per_line_keeps_a_trailing_comma() -> None:
    fixed = _fix_all(
        """\
        defmodule A do
          use GenServer
          def init(_) do
            table = :ets.new(:t, [
              :set,
              :public,
            ])
            {:ok, table}
          end
          def get(table, key), do: :ets.lookup(table, key)
        end
        """,
        "OTP601",
    )
    assert "      :public,\n      read_concurrency: true,\n    ])" in fixed


def test_read_concurrency_has_no_fix_for_options_in_an_attribute() -> None:
    text = (
        "defmodule A do\n  use GenServer\n  @opts [:public, :named_table]\n"
        "  def init(_), do: {:ok, :ets.new(:t, @opts)}\n"
        "  def get(key), do: :ets.lookup(:t, key)\nend\n"
    )
    rule = find_rule("OTP601")
    assert rule is not None
    (finding,) = analyze(Source(text, "lib/a.ex"), rules=[rule])
    assert finding.fix is None
    assert finding.message.endswith("add read_concurrency: true to @opts.")


def test_restart_intensity_offers_no_fix() -> None:
    """Writing out the default values would change nothing; the budget is the user's choice."""
    text = (
        "defmodule A.Sup do\n  use DynamicSupervisor\n"
        "  def add(id), do: DynamicSupervisor.start_child(__MODULE__, {A.Worker, id})\n"
        "  def init(_), do: DynamicSupervisor.init(strategy: :one_for_one)\nend\n"
        "defmodule A.Worker do\n  use GenServer\nend\n"
    )
    rule = find_rule("OTP501")
    assert rule is not None and not rule.fixable
    (finding,) = analyze(Source(text, "lib/a/sup.ex"), rules=[rule])
    assert finding.fix is None
