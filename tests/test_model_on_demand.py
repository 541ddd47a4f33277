"""`model.on_demand`: which processes the project starts while it runs, one per call, and
which only at boot; what OTP201 asks before it calls a name one per value."""

from __future__ import annotations

import textwrap

from otp_thinking.model.project import ProjectFacts
from otp_thinking.model.summary import summarize
from otp_thinking.source import Source

ROOM = """
defmodule Chat.Room do
  use GenServer
  def start_link(id), do: GenServer.start_link(__MODULE__, id, name: :"room_#{id}")
  def init(id), do: {:ok, id}
end
"""


def facts(*texts: str) -> ProjectFacts:
    files = {}
    for number, text in enumerate((ROOM, *texts)):
        path = f"/p/lib/chat/f{number}.ex"
        files[path] = summarize(Source(textwrap.dedent(text), path), path)
    return ProjectFacts(files)


def test_a_request_handler_starts_it_on_demand() -> None:
    found = facts(
        """
        defmodule Chat.Lobby do
          use GenServer
          def handle_call({:open, id}, _from, s), do: {:reply, Chat.Room.start_link(id), s}
        end
        """
    )
    assert found.started_on_demand("Chat.Room") == "Chat.Lobby.handle_call/3"


def test_boot_starts_are_not_on_demand() -> None:
    found = facts(
        """
        defmodule Chat.Application do
          use Application
          def open(id), do: Chat.Room.start_link(id)
        end
        defmodule Chat.Boot do
          use GenServer
          def init(id), do: {:ok, Chat.Room.start_link(id)}
          def handle_continue(id, s), do: {:noreply, [Chat.Room.start_link(id) | s]}
          def init_rooms(id), do: Chat.Room.start_link(id)
        end
        defmodule Mix.Tasks.Chat.Seed do
          use Mix.Task
          def run([id]), do: Chat.Room.start_link(id)
        end
        """
    )
    assert found.started_on_demand("Chat.Room") is None


SUPERVISOR = """
defmodule Chat.Rooms do
  use DynamicSupervisor
  def open(id), do: DynamicSupervisor.start_child(__MODULE__, {Chat.Room, id})
end
"""


def test_a_supervisor_function_needs_a_caller_that_runs_on_demand() -> None:
    assert facts(SUPERVISOR).started_on_demand("Chat.Room") is None
    booting = "defmodule Chat.Boot do\n  def init(id), do: Chat.Rooms.open(id)\nend\n"
    assert facts(SUPERVISOR, booting).started_on_demand("Chat.Room") is None
    channel = (
        "defmodule Chat.RoomChannel do\n"
        "  def join(id, _p, socket), do: {:ok, Chat.Rooms.open(id), socket}\nend\n"
    )
    assert (
        facts(SUPERVISOR, channel).started_on_demand("Chat.Room")
        == "Chat.RoomChannel.join/3 (through Chat.Rooms.open/1)"
    )


def test_a_start_with_a_constant_spec_is_one_child_not_one_per_value() -> None:
    constant = """
    defmodule Chat.Rooms do
      use DynamicSupervisor
      def open_lobby, do: DynamicSupervisor.start_child(__MODULE__, Chat.Room)
    end
    defmodule Chat.Web do
      def lobby, do: Chat.Rooms.open_lobby()
    end
    """
    assert facts(constant).started_on_demand("Chat.Room") is None


def test_called_on_demand_names_the_caller_from_another_module() -> None:
    found = facts(
        """
        defmodule Chat.Web do
          def show(id), do: Chat.Room.open(id)
        end
        """
    )
    assert found.called_on_demand("Chat.Room", "open") == "Chat.Web.show/1"
    assert found.called_on_demand("Chat.Room", "close") is None
