defmodule Beta.Groups do
  @moduledoc false
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)

  def join(group), do: :pg2.join(group, self())

  def announce(group) do
    Task.start(fn -> IO.puts("joined #{group}") end)
  end
end
