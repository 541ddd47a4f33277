defmodule Beta.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [Beta.Groups]
    Supervisor.start_link(children, strategy: :one_for_one, name: Beta.Supervisor)
  end
end
