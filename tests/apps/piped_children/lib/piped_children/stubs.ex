defmodule PipedChildren.Repo do
  @moduledoc "Stands for a database repo."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end

defmodule PipedChildren.Consumer do
  @moduledoc "Stands for a message consumer started outside tests."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> [] end, name: __MODULE__)
end

defmodule PipedChildrenWeb.Endpoint do
  @moduledoc "Stands for the endpoint serving requests."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end
