"""OTP501's message names what each child stands for: every run-time value of the spec
given to ``start_child``, the generic ones (``opts``) left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, project

SUPERVISOR = """\
defmodule Shop.Responders do
  use DynamicSupervisor

  def start_link(arg), do: DynamicSupervisor.start_link(__MODULE__, arg, name: __MODULE__)

  def start_child({args}), do: DynamicSupervisor.start_child(__MODULE__, {{Shop.Responder, {spec}}})

  @impl true
  def init(_arg), do: DynamicSupervisor.init(strategy: :one_for_one)
end

defmodule Shop.Responder do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg)

  @impl true
  def init(arg), do: {{:ok, arg}}
end
"""


@pytest.mark.parametrize(
    ("args", "spec", "each"),
    [
        ("ifname, address", "{ifname, address}", "for each {ifname, address} it is given"),
        ("id, secrets", "%{id: id, secrets: secrets}", "for each id it is given"),
        ("opts, id", "{opts, id}", "for each id it is given"),
        ("opts", "opts", "per call"),
    ],
)
def test_the_message_names_each_value_a_child_stands_for(
    tmp_path: Path, args: str, spec: str, each: str
) -> None:
    text = SUPERVISOR.format(args=args, spec=spec)
    [finding] = findings(project(tmp_path, "      Shop.Responders"), "OTP501", text)
    assert f"starts one Shop.Responder {each} with DynamicSupervisor.start_child" in (
        finding.message
    )
