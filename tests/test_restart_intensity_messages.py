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
        (
            "server_args, person",
            "Keyword.put_new(server_args, :person, person)",
            "for each person it is given",
        ),
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


STOPPING = """\
defmodule Shop.Drains do
  use DynamicSupervisor

  def start_link(arg), do: DynamicSupervisor.start_link(__MODULE__, arg, name: __MODULE__)

  def drain(queue), do: DynamicSupervisor.start_child(__MODULE__, {Shop.Drain, queue})

  @impl true
  def init(_arg), do: DynamicSupervisor.init(strategy: :one_for_one, max_restarts: 50)
end

defmodule Shop.Drain do
  use GenServer

  def start_link(queue), do: GenServer.start_link(__MODULE__, queue)

  @impl true
  def init(queue), do: {:ok, queue}

  @impl true
  def handle_info(:next, queue) do
    case Shop.Queue.pop(queue) do
      nil -> {:stop, :normal, queue}
      _job -> {:noreply, queue}
    end
  end
end
"""


def test_a_permanent_server_that_stops_itself_is_a_warning_on_its_use(tmp_path: Path) -> None:
    """Each normal stop of a :permanent child is a restart: the supervisor starts it again,
    whatever budget it sets (this one sets one), and the advice is :transient."""
    [finding] = findings(project(tmp_path, "      Shop.Drains"), "OTP501", STOPPING)
    line = STOPPING.splitlines().index("      nil -> {:stop, :normal, queue}") + 1
    assert finding.severity == "warning"
    assert STOPPING[finding.start : finding.end] == "use GenServer"
    assert finding.message == (
        "Shop.Drain ends itself with a normal exit ({:stop, :normal, ...} in handle_info/2, "
        f"line {line}) but is :permanent (the default of use GenServer), and Shop.Drains.drain/1 "
        "(lib/shop/subject.ex:6) starts it under a DynamicSupervisor: the supervisor starts it "
        "again every time it stops, each restart counting against the budget its options set, "
        "and once the budget is spent it gives up, stopping every other child with it; make it "
        "restart: :transient, which restarts it only when it crashes."
    )


def test_a_server_whose_own_child_spec_makes_it_temporary_is_not_restarted(
    tmp_path: Path,
) -> None:
    """Started with its own `child_spec/0`, which sets `restart: :temporary`: each normal stop
    ends it for good (its starter starts the next one)."""
    text = STOPPING.replace("{Shop.Drain, queue}", "Shop.Drain.child_spec()").replace(
        "  def start_link(queue), do: GenServer.start_link(__MODULE__, queue)\n",
        "  def start_link(queue), do: GenServer.start_link(__MODULE__, queue)\n\n"
        "  def child_spec,\n"
        "    do: %{id: __MODULE__, start: {__MODULE__, :start_link, [:q]}, restart: :temporary}\n",
    )
    assert findings(project(tmp_path, "      Shop.Drains"), "OTP501", text) == []


def test_the_budget_hint_names_temporary_children_as_the_other_way_out(tmp_path: Path) -> None:
    """A bigger budget only makes a child that cannot work after a restart loop longer: the
    message names `restart: :temporary` too."""
    text = SUPERVISOR.format(args="id", spec="id")
    [finding] = findings(project(tmp_path, "      Shop.Responders"), "OTP501", text)
    assert "set max_restarts and max_seconds" in finding.message
    assert "restart: :temporary when a restarted child could not work anyway" in finding.message
