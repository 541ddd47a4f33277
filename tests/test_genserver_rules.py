"""What the GenServer and Agent rules (OTP001, OTP002, OTP603, OTP701, OTP702) say, where they
say it, and that none of them offers a fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fix_helpers import findings, project

from otp_thinking.engine import analyze
from otp_thinking.findings import Finding
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

CODES = ("OTP001", "OTP002", "OTP603", "OTP701", "OTP702")


def _findings(code: str, text: str, path: str = "lib/shop/x.ex") -> tuple[Source, list[Finding]]:
    rule = find_rule(code)
    assert rule is not None
    source = Source(textwrap.dedent(text), path)
    return source, analyze(source, rules=[rule])


def test_catalog_names_and_severities() -> None:
    expected = {
        "OTP001": ("stateless-genserver", "warning"),
        "OTP002": ("genserver-read-bottleneck", "information"),
        "OTP603": ("config-in-hot-path", "information"),
        "OTP701": ("agent-complex-state", "hint"),
        "OTP702": ("genserver-state-machine", "hint"),
    }
    for code, (name, severity) in expected.items():
        rule = find_rule(code)
        assert rule is not None and (rule.name, rule.severity) == (name, severity)
        assert not rule.fixable
        for heading in ("## What it flags", "## Why it matters", "## Example", "## Fix"):
            assert heading in rule.doc
        assert "No automatic fix" in rule.doc


def test_stateless_message_names_the_module_on_the_use_line() -> None:
    source, [finding] = _findings(
        "OTP001",
        """\
        defmodule Shop.Math do
          use GenServer
          def init(_), do: {:ok, nil}
          def handle_call({:add, a, b}, _from, state), do: {:reply, a + b, state}
        end
        """,
    )
    assert source.node_text(source.tree.root_node)[finding.start : finding.end] == "use GenServer"
    assert finding.message.startswith("Shop.Math never reads or changes its GenServer state")
    assert finding.fix is None


def test_an_idle_server_is_information_and_the_advice_fits_what_it_defines(
    tmp_path: Path,
) -> None:
    """A server whose only callback is ``init/1``, listed among the application's children: to
    remove from the tree, and its functions made plain only when it has functions of its own
    besides starting. Nothing is said of one the project never starts."""
    server = textwrap.dedent(
        """\
        defmodule Shop.Idle do
          use GenServer
          def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)
          def init(arg), do: {:ok, arg}
        %s
        end
        """
    )
    root = project(tmp_path / "listed", "      Shop.Idle")
    [bare] = findings(root, "OTP001", server % "")
    [with_api] = findings(root, "OTP001", server % "  def get(key), do: :persistent_term.get(key)")
    assert bare.severity == with_api.severity == "information"
    assert bare.message.endswith("never uses its state; remove it from the supervision tree.")
    assert with_api.message.endswith("and make its functions plain ones.")
    assert findings(project(tmp_path / "unlisted"), "OTP001", server % "") == []


def test_read_bottleneck_message_lists_the_reads_and_the_ets_shape() -> None:
    _, [finding] = _findings(
        "OTP002",
        """\
        defmodule Shop.Store do
          use GenServer
          def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)
          def init(_), do: {:ok, %{}}
          def handle_call({:get, k}, _from, s), do: {:reply, Map.get(s, k), s}
          def handle_call(:keys, _from, s), do: {:reply, Map.keys(s), s}
          def handle_cast({:put, k, v}, s), do: {:noreply, Map.put(s, k, v)}
        end
        """,
    )
    assert "Shop.Store answers read-only calls (:get, :keys)" in finding.message
    assert ":protected named ETS table with read_concurrency: true" in finding.message
    assert ":ets.lookup" in finding.message
    rule = find_rule("OTP002")
    assert rule is not None and ":named_table, :protected" in rule.doc


def test_read_bottleneck_names_an_agents_reads_and_its_writes() -> None:
    _, [finding] = _findings(
        "OTP002",
        """\
        defmodule Shop.Units do
          use Agent
          def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
          def factor(unit), do: Agent.get(__MODULE__, &Map.fetch!(&1, unit))
          def units, do: Agent.get(__MODULE__, &Map.keys/1)
          def define(unit, f), do: Agent.update(__MODULE__, &Map.put(&1, unit, f))
        end
        """,
    )
    assert finding.message.startswith(
        "Shop.Units serves reads (factor/1, units/0) through one Agent, one at a time, "
        "and changes it only in define/2;"
    )


def test_config_message_names_the_call_and_the_callback() -> None:
    _, [finding] = _findings(
        "OTP603",
        """\
        defmodule Shop.Mailer do
          use GenServer
          def handle_cast({:send, m}, s) do
            _ = {m, Application.fetch_env!(:shop, :from)}
            {:noreply, s}
          end
        end
        """,
    )
    assert finding.message.startswith(
        "Application.fetch_env! runs every time handle_cast/2 handles a {:send, …} message"
    )
    assert "init/1" in finding.message and ":persistent_term" in finding.message


def test_agent_message_says_what_logic_it_found() -> None:
    _, findings = _findings(
        "OTP701",
        """\
        defmodule Shop.Q do
          def a(x), do: Agent.update(__MODULE__, fn [] -> [x]; l -> [x | l] end)
          def b(x), do: Agent.update(__MODULE__, fn s -> cond do x -> s; true -> x end end)
        end
        """,
    )
    reasons = [f.message.split("(")[1].split(")")[0] for f in findings]
    assert reasons == ["a multi-clause fn", "a cond"]
    assert all(f.message.startswith("This Agent.update function") for f in findings)


def test_state_machine_message_names_the_field_and_its_states() -> None:
    _, [finding] = _findings(
        "OTP702",
        """\
        defmodule Shop.Job do
          use GenServer
          def init(_), do: {:ok, %{status: :queued}}
          def handle_call(:run, _from, %{status: :queued} = s), do: {:reply, :ok, %{s | status: :running}}
          def handle_info(:done, %{status: :running} = s), do: {:noreply, %{s | status: :done}}
        end
        """,
    )
    assert "switches on its state's :status field through at least 3 states" in finding.message
    assert "(:done, :queued, :running)" in finding.message
    assert ":gen_statem" in finding.message


def test_rules_stay_silent_in_tests() -> None:
    text = """\
    defmodule Shop.Settings do
      use GenServer
      def init(_), do: {:ok, nil}
      def handle_call(:x, _from, s), do: {:reply, Application.get_env(:shop, :x), s}
    end
    """
    for code in ("OTP001", "OTP603"):
        assert _findings(code, text, "lib/shop/settings.ex")[1], f"{code} should fire in lib/"
    for code in CODES:
        _, findings = _findings(code, text, "test/support/settings.ex")
        assert findings == []


def test_an_idle_server_that_drops_every_message_says_so(tmp_path: Path) -> None:
    """A generated worker whose only callback besides ``init/1`` is a ``handle_info/2`` that
    drops whatever arrives is idle too, and the message names that callback."""
    server = textwrap.dedent(
        """\
        defmodule Shop.Idle do
          use GenServer
          def start_link(arg), do: GenServer.start_link(__MODULE__, arg)
          def init(_arg), do: {:ok, %{}}
          def handle_info(_msg, state), do: {:noreply, state}
        end
        """
    )
    [finding] = findings(project(tmp_path, "      Shop.Idle"), "OTP001", server)
    assert finding.severity == "information"
    assert "and a handle_info/2 that drops every message" in finding.message
    assert finding.message.endswith("never uses its state; remove it from the supervision tree.")
