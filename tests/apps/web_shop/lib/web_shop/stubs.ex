defmodule WebShop.Repo do
  @moduledoc "Stands for a database repo."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end

defmodule WebShopWeb.Telemetry do
  @moduledoc "Stands for the telemetry supervisor."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end

defmodule WebShopWeb.Endpoint do
  @moduledoc "Stands for the endpoint serving requests."
  use Agent

  def start_link(_), do: Agent.start_link(fn -> %{} end, name: __MODULE__)
end
