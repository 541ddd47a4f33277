defmodule RwNolink.Mailer do
  @moduledoc "Sends in the background; GenServer's default handle_info/2 logs what nobody expected."
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok), do: {:ok, nil}

  @impl true
  def handle_cast({:send, pid}, state) do
    # Nobody awaits the task: its reply and the end of its monitor come back as messages.
    Task.Supervisor.async_nolink(RwNolink.Tasks, fn -> send(pid, :sent) end)
    {:noreply, state}
  end
end
