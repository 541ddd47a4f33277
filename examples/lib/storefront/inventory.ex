defmodule Storefront.Inventory do
  @moduledoc """
  Stock reservations, kept by one named process. Every module that asks for a level waits in this
  process's mailbox: otp-thinking counts the call sites across the project (OTP106).
  """
  use GenServer

  def start_link(levels), do: GenServer.start_link(__MODULE__, levels, name: __MODULE__)

  def level(sku), do: GenServer.call(__MODULE__, {:level, sku})

  def reserve(sku, count), do: GenServer.call(__MODULE__, {:reserve, sku, count})

  @impl true
  def init(levels), do: {:ok, Map.new(levels)}

  @impl true
  def handle_call({:level, sku}, _from, levels), do: {:reply, Map.get(levels, sku, 0), levels}

  def handle_call({:reserve, sku, count}, _from, levels) do
    left = Map.get(levels, sku, 0) - count
    if left >= 0, do: {:reply, :ok, Map.put(levels, sku, left)}, else: {:reply, :error, levels}
  end
end
