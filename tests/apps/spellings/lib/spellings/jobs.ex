defmodule Spellings.Jobs do
  @moduledoc "The app's Task.Supervisor, started through its own child_spec/0."

  def child_spec(_opts \\ []) do
    Task.Supervisor.child_spec(name: __MODULE__)
  end
end
