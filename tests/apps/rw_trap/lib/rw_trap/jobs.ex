defmodule RwTrap.Jobs do
  @moduledoc "Jobs that succeed, or raise on a bad input."

  def run(:good), do: :ok
  def run(job), do: raise(ArgumentError, "bad job #{inspect(job)}")
end
