defmodule BootOrder.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      BootOrder.Repo,
      BootOrder.Pool,
      BootOrder.PubSub
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: BootOrder.Supervisor)
  end
end
