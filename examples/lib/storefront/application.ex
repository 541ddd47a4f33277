defmodule Storefront.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      Storefront.PriceCache
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: Storefront.Supervisor)
  end
end
