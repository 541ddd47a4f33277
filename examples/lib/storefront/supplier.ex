defmodule Storefront.Supplier do
  @moduledoc "Talks to the supplier's API."

  def price(sku), do: {:ok, String.length(sku) * 100}

  def prices(skus) do
    # Fine: runs on a supervised task, the caller survives a crash.
    skus
    |> Enum.map(&Task.Supervisor.async_nolink(Storefront.TaskSupervisor, fn -> price(&1) end))
    |> Enum.map(&Task.yield(&1, 5_000))
  end

  def describe, do: "Uses Task.async? No: that word is only in a string."

  def available?(sku), do: Storefront.Inventory.level(sku) > 0
end
