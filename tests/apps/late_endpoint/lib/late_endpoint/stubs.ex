defmodule LateEndpoint.Repo do
  @moduledoc "Stands for a database repo."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end

defmodule LateEndpoint.Scheduler do
  @moduledoc "Stands for a job scheduler."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> [] end, name: __MODULE__)
end

defmodule LateEndpointWeb.Endpoint do
  @moduledoc "Stands for the endpoint serving requests."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end
