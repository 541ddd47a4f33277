defmodule Storefront.Checkout do
  @moduledoc """
  One process per cart, found through a Registry that the application never starts: every
  lookup fails with :noproc in production (OTP105, which offers to add the Registry child).
  """
  use GenServer

  def start_link(cart_id), do: GenServer.start_link(__MODULE__, cart_id, name: via(cart_id))

  def add(cart_id, sku), do: GenServer.call(via(cart_id), {:add, sku})

  defp via(cart_id), do: {:via, Registry, {Storefront.CartRegistry, cart_id}}

  @impl true
  def init(cart_id), do: {:ok, %{id: cart_id, items: []}}

  @impl true
  def handle_call({:add, sku}, _from, cart) do
    case Storefront.Inventory.reserve(sku, 1) do
      :ok -> {:reply, :ok, %{cart | items: [sku | cart.items]}}
      :error -> {:reply, {:error, :out_of_stock}, cart}
    end
  end

  def in_stock?(sku), do: Storefront.Inventory.level(sku) > 0
end
