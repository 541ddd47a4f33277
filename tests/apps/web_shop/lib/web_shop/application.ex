defmodule WebShop.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      WebShopWeb.Telemetry,
      WebShop.Repo,
      {Registry, keys: :duplicate, name: WebShop.Registry},
      WebShopWeb.Endpoint
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: WebShop.Supervisor)
  end
end
