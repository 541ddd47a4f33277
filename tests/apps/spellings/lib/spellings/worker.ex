defmodule Spellings.Worker do
  @moduledoc false
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  def notify(message), do: GenServer.cast(__MODULE__, {:notify, message})

  def ping(id), do: GenServer.call(String.to_atom("session_#{id}"), :ping)

  def lengths(words) do
    words
    |> Task.async_stream(&String.length/1)
    |> Enum.to_list()
  end

  @impl true
  def init(nil), do: {:ok, %{}}

  @impl true
  def handle_cast({:notify, message}, state) do
    Task.start(fn -> IO.puts(message) end)
    {:noreply, state}
  end
end
