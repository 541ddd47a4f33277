defmodule RwAwait.Quotes do
  @moduledoc "Asks a slow supplier for quotes in tasks; counts the messages nobody expected."
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok), do: {:ok, %{stray: 0}}

  @impl true
  def handle_call({:quote, amount}, _from, state) do
    # The supplier raises on a negative amount: the {:exit, _} clause must get to answer.
    task = Task.async(fn -> RwAwait.Supplier.quote(amount) end)

    case Task.yield(task, 5000) || Task.shutdown(task) do
      {:ok, quote} -> {:reply, quote, state}
      {:exit, reason} -> {:reply, {:error, reason}, state}
      nil -> {:reply, {:error, :timeout}, state}
    end
  end

  def handle_call(:stray, _from, state), do: {:reply, state.stray, state}

  @impl true
  def handle_cast({:notify, pid}, state) do
    Task.async(fn -> send(pid, {:notified, RwAwait.Supplier.quote(1)}) end)
    {:noreply, state}
  end

  def handle_cast({:audit, amount}, state) do
    # Linked, its pid dropped: a supplier raising on a negative amount takes the server down.
    Task.start_link(fn -> RwAwait.Supplier.quote(amount) end)
    {:noreply, state}
  end

  @impl true
  def handle_info(_message, state), do: {:noreply, %{state | stray: state.stray + 1}}
end
