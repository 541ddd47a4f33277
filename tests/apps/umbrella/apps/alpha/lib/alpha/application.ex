defmodule Alpha.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [Alpha.Groups]
    Supervisor.start_link(children, strategy: :one_for_one, name: Alpha.Supervisor)
  end
end
