defmodule RwNolink.Mailer do
  @moduledoc "Sends in the background; counts the messages nobody expected."
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok), do: {:ok, %{stray: 0}}

  @impl true
  def handle_cast({:send, pid}, state) do
    # Nobody awaits the task: its reply and the end of its monitor come back as messages.
    Task.Supervisor.async_nolink(RwNolink.Tasks, fn -> send(pid, :sent) end)
    {:noreply, state}
  end

  @impl true
  def handle_call(:stray, _from, state), do: {:reply, state.stray, state}

  @impl true
  def handle_info(_message, state), do: {:noreply, %{state | stray: state.stray + 1}}
end
