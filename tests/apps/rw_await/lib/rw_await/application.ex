defmodule RwAwait.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      RwAwait.Quotes
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwAwait.Supervisor)
  end
end
