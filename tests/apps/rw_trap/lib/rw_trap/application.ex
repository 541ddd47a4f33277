defmodule RwTrap.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      RwTrap.Runner
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwTrap.Supervisor)
  end
end
