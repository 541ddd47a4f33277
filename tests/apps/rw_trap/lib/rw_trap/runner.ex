defmodule RwTrap.Runner do
  @moduledoc "Runs jobs in linked tasks and learns how each ended from its exit signal."
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok) do
    Process.flag(:trap_exit, true)
    {:ok, %{}}
  end

  @impl true
  def handle_call({:run, job}, _from, state) do
    task = Task.async(fn -> RwTrap.Jobs.run(job) end)

    reason =
      receive do
        {:EXIT, pid, reason} when pid == task.pid -> reason
      end

    {:reply, reason, state}
  end

  @impl true
  def handle_info(_message, state), do: {:noreply, state}
end
