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

    result = Supervisor.start_link(children, strategy: :one_for_one, name: BootOrder.Supervisor)
    Task.start(fn -> :logger.info("boot_order started") end)
    result
  end
end
