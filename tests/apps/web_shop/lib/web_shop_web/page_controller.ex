defmodule WebShopWeb.PageController do
  @moduledoc false

  def show(id) do
    Task.start(fn -> IO.puts("viewed #{id}") end)
    GenServer.call(String.to_atom("cart_#{id}"), :show)
  end
end
