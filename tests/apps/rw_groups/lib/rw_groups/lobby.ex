defmodule RwGroups.Lobby do
  @moduledoc "Players enter the lobby group; the lobby server counts them."
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  def enter do
    :pg2.start()
    :ok = :pg2.create(:lobby)
    :ok = :pg2.join(:lobby, self())
  end

  def players, do: :pg2.get_members(:lobby)

  def count, do: GenServer.call(__MODULE__, :count)

  @impl true
  def init(nil), do: {:ok, nil}

  @impl true
  def handle_call(:count, _from, state), do: {:reply, length(players()), state}
end
