defmodule Storefront.Stock do
  @moduledoc "Stock levels, read by every product page."
  use GenServer

  def start_link(path), do: GenServer.start_link(__MODULE__, path, name: __MODULE__)

  def level(sku) do
    case :ets.lookup(:stock_levels, sku) do
      [{^sku, level}] -> level
      [] -> 0
    end
  end

  def reload, do: GenServer.call(__MODULE__, :reload, :infinity)

  @impl true
  def init(path) do
    table = :ets.new(:stock_levels, [:set, :named_table, :protected])
    levels = path |> File.read!() |> parse()
    :ets.insert(table, levels)
    {:ok, %{table: table, path: path}}
  end

  @impl true
  def handle_call(:reload, _from, state) do
    :ets.insert(state.table, state.path |> File.read!() |> parse())
    {:reply, :ok, state}
  end

  defp parse(text) do
    for line <- String.split(text, "\n", trim: true) do
      [sku, level] = String.split(line, ",")
      {sku, String.to_integer(level)}
    end
  end
end
