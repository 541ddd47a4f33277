defmodule RwAwait.Supplier do
  @moduledoc "A supplier that refuses negative amounts."

  def quote(amount) when amount >= 0, do: amount * 2
  def quote(amount), do: raise(ArgumentError, "no quote for #{amount}")
end
