defmodule RwLayout.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [{Task.Supervisor, name: RwLayout.TaskSupervisor}]
    Supervisor.start_link(children, strategy: :one_for_one, name: RwLayout.Supervisor)
  end
end
