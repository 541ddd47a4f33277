"""OTP005 reads the module facts only where a module can declare one of its behaviours."""

from __future__ import annotations

import pytest

from otp_thinking.context import Context
from otp_thinking.engine import analyze
from otp_thinking.rules.callback_wrong_arity import RULE
from otp_thinking.source import Source

WRONG_INIT = "  def init(a, b), do: {:ok, {a, b}}\n"


@pytest.mark.parametrize(
    "declaration",
    [
        "use GenServer",
        "use(GenServer)",
        "use GenServer,\n    restart: :transient",
        "@behaviour GenServer",
        "@behaviour :gen_server",
        "@behaviour(:supervisor)",
    ],
)
def test_every_spelling_of_a_declaration_is_read(declaration: str) -> None:
    text = f"defmodule Shop.Worker do\n  {declaration}\n\n{WRONG_INIT}end\n"
    found = analyze(Source(text, "lib/shop/worker.ex"), rules=[RULE])
    assert [f.code for f in found] == ["OTP005"]


def test_an_application_declaration_is_read() -> None:
    text = "defmodule Shop.Application do\n  use Application\n\n  def stop(a, b), do: {a, b}\nend\n"
    found = analyze(Source(text, "lib/shop/application.ex"), rules=[RULE])
    assert [f.code for f in found] == ["OTP005"]


@pytest.mark.parametrize(
    "text",
    [
        # a test that names Application (the rule's word) but declares no behaviour
        "defmodule Shop.WorkerTest do\n  use ExUnit.Case\n\n"
        '  test "x", do: Application.put_env(:shop, :mode, :test)\nend\n',
        # another application module's `use`: not the behaviour the rule knows
        f"defmodule Shop.Worker do\n  use Phoenix.Application\n\n{WRONG_INIT}end\n",
        # "use GenServer" inside a word: no declaration
        "defmodule Shop.Client do\n  # callers reuse GenServer.call/3 here\n"
        "  def get(pid), do: GenServer.call(pid, :get)\nend\n",
    ],
)
def test_without_a_declaration_the_module_facts_are_not_gathered(text: str) -> None:
    context = Context(Source(text, "test/shop/worker_test.exs"))
    assert list(RULE.check(context)) == []
    assert "modules" not in context.cache


def test_a_process_callback_of_a_supervisor_is_said_never_to_run() -> None:
    text = (
        "defmodule Shop.Lattices do\n"
        "  use DynamicSupervisor\n"
        "  def init(_), do: DynamicSupervisor.init(strategy: :one_for_one)\n"
        "  def handle_info(:stop_all, state), do: {:noreply, state}\n"
        "end\n"
    )
    [finding] = analyze(Source(text, "lib/shop/lattices.ex"), rules=[RULE])
    assert finding.message.startswith("handle_info/2 never runs: a supervisor's process runs")
    assert "logged as unexpected" in finding.message


@pytest.mark.parametrize(
    ("path", "severity"),
    [
        ("lib/shop/worker.ex", "warning"),
        ("scratch/worker.ex", "information"),
        ("dev/worker.ex", "information"),
        ("benchmark/lib/worker.ex", "information"),
    ],
)
def test_development_tooling_gets_information(path: str, severity: str) -> None:
    text = f"defmodule Shop.Worker do\n  use GenServer\n\n{WRONG_INIT}end\n"
    found = analyze(Source(text, path), rules=[RULE])
    assert [(f.code, f.severity) for f in found] == [("OTP005", severity)]
