defmodule RwPartitions.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {PartitionSupervisor, child_spec: Task.Supervisor, name: RwPartitions.TaskSupervisors},
      RwPartitions.Mailer
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwPartitions.Supervisor)
  end
end
