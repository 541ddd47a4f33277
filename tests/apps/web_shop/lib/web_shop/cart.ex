defmodule WebShop.Cart do
  @moduledoc "One process per shopping cart, opened when its page is first shown."
  use GenServer

  def open(id), do: GenServer.start(__MODULE__, id, name: String.to_atom("cart_#{id}"))

  def show(id), do: GenServer.call(String.to_atom("cart_#{id}"), :show)

  @impl true
  def init(id), do: {:ok, id}

  @impl true
  def handle_call(:show, _from, id), do: {:reply, id, id}
end
