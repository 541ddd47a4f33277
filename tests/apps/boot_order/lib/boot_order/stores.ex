defmodule BootOrder.Repo do
  @moduledoc "Stands for a database repo: infrastructure the warmer's task reads."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{"greeting" => "hello"} end, name: __MODULE__)

  def fetch(key), do: Agent.get(__MODULE__, &Map.fetch(&1, key))
end

defmodule BootOrder.PubSub do
  @moduledoc "Stands for a PubSub server started after the pool."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> [] end, name: __MODULE__)
end
