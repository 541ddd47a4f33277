defmodule BootOrder.Pool do
  @moduledoc "A child whose start_link starts another module's server: the warmer."

  def child_spec(arg), do: %{id: __MODULE__, start: {__MODULE__, :start_link, [arg]}}

  def start_link(arg), do: GenServer.start_link(BootOrder.Warmer, arg, name: BootOrder.Warmer)
end

defmodule BootOrder.Warmer do
  @moduledoc "Warms a cache in the background as it starts."
  use GenServer

  def warmed, do: GenServer.call(__MODULE__, :warmed)

  @impl true
  def init(_arg) do
    parent = self()
    Task.start(fn -> send(parent, {:warmed, BootOrder.Repo.fetch("greeting")}) end)
    {:ok, :cold}
  end

  @impl true
  def handle_call(:warmed, _from, state), do: {:reply, state, state}

  @impl true
  def handle_info({:warmed, {:ok, value}}, _state), do: {:noreply, {:warm, value}}
end
