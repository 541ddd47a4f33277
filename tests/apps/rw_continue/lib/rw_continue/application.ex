defmodule RwContinue.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {RwContinue.Prices, "data/prices.txt"}
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwContinue.Supervisor)
  end
end
