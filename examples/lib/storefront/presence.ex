defmodule Storefront.Presence do
  @moduledoc "Which nodes serve which store; written before OTP 24."

  def join(store, pid), do: :pg2.join({:store, store}, pid)

  def members(store), do: :pg2.get_members({:store, store})
end
