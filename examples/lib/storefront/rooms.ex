defmodule Storefront.Rooms do
  @moduledoc "One chat room process per product page."
  use GenServer

  def start_link(room_id) do
    # Every new room_id makes a new atom, and atoms are never garbage-collected.
    GenServer.start_link(__MODULE__, room_id, name: String.to_atom("room_" <> room_id))
  end

  def post(room_id, message) do
    GenServer.cast(String.to_atom("room_" <> room_id), {:post, message})
  end

  @impl true
  def init(room_id), do: {:ok, %{id: room_id, messages: []}}

  @impl true
  def handle_cast({:post, message}, room), do: {:noreply, %{room | messages: [message | room.messages]}}
end
