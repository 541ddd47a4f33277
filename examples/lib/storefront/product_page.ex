defmodule Storefront.ProductPage do
  @moduledoc "What happens when a shopper opens a product page: the product's chat room opens."

  def open(product_id) do
    {:ok, _room} = Storefront.Rooms.start_link(product_id)
    Storefront.Rooms.post(product_id, "A shopper is looking at this product")
  end
end
