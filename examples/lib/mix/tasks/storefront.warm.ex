defmodule Mix.Tasks.Storefront.Warm do
  @moduledoc "Warms the price cache; a one-off task, so Task.async is fine here."
  use Mix.Task

  @impl true
  def run(skus) do
    skus
    |> Enum.map(&Task.async(fn -> Storefront.Supplier.price(&1) end))
    |> Enum.map(&Task.await/1)
  end
end
