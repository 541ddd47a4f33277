defmodule Storefront.Presence do
  @moduledoc "Which nodes serve which store; written before OTP 24."

  def serve(store), do: :pg2.join({:store, store}, self())

  def members(store), do: :pg2.get_members({:store, store})
end
