defmodule Storefront.SupplierTest do
  use ExUnit.Case, async: true

  test "prices in parallel" do
    task = Task.async(fn -> Storefront.Supplier.price("abc") end)
    assert {:ok, 300} = Task.await(task)
  end
end
