defmodule RwContinue.Prices do
  @moduledoc "Prices read by a command at start, kept in the state and in a named table."
  use GenServer

  def start_link(path), do: GenServer.start_link(__MODULE__, path, name: __MODULE__)

  def price(name), do: GenServer.call(__MODULE__, {:price, name})

  @impl true
  def init(path) do
    Process.flag(:trap_exit, true)
    table = :ets.new(:rw_continue_prices, [:named_table, :public])
    {text, 0} = System.cmd("cat", [path])
    prices = parse(text)
    :ets.insert(table, Map.to_list(prices))
    {:ok, %{table: table, prices: prices}}
  end

  @impl true
  def handle_call({:price, name}, _from, state) do
    {:reply, Map.fetch(state.prices, name), state}
  end

  @impl true
  def handle_continue(:noop, state), do: {:noreply, state}

  defp parse(text) do
    for line <- String.split(text, "\n", trim: true), into: %{} do
      [name, price] = String.split(line)
      {name, String.to_integer(price)}
    end
  end
end
