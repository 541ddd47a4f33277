defmodule LateEndpoint.Application do
  @moduledoc "The Endpoint starts before some of the infrastructure, as in many real apps."
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      LateEndpoint.Repo,
      LateEndpointWeb.Endpoint,
      {Registry, keys: :unique, name: LateEndpoint.Registry},
      LateEndpoint.Scheduler
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: LateEndpoint.Supervisor)
  end
end
