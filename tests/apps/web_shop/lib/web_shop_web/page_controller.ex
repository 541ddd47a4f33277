defmodule WebShopWeb.PageController do
  @moduledoc false

  def show(id) do
    Task.start(fn -> IO.puts("viewed #{id}") end)
    WebShop.Cart.open(id)
    WebShop.Cart.show(id)
  end
end
