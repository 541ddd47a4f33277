defmodule RwPartitions.Mailer do
  @moduledoc "Sends mail from tasks; the application already runs partitioned task supervisors."
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  def deliver(to, what), do: GenServer.cast(__MODULE__, {:deliver, to, what})

  def receipt(to), do: GenServer.cast(__MODULE__, {:receipt, to})

  @impl true
  def init(:ok), do: {:ok, 0}

  @impl true
  def handle_cast({:deliver, to, what}, sent) do
    Task.start(fn -> send(to, {:delivered, what}) end)
    {:noreply, sent + 1}
  end

  def handle_cast({:receipt, to}, sent) do
    Task.async(fn -> send(to, {:receipt, sent}) end)
    {:noreply, sent}
  end
end
