defmodule RwGroups.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      RwGroups.Lobby
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwGroups.Supervisor)
  end
end
