defmodule AppServer.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {DynamicSupervisor, name: AppServer.Dynamic, strategy: :one_for_one, max_restarts: 10},
      AppServer.Server
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: AppServer.Supervisor)
  end
end

defmodule AppServer.Server do
  @moduledoc false
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  def join(group), do: :pg2.join(group, self())

  @impl true
  def init(nil), do: {:ok, nil}

  @impl true
  def handle_call(:work, _from, state) do
    task = Task.async(fn -> 1 + 1 end)

    case Task.yield(task, 1_000) do
      {:ok, result} -> {:reply, result, state}
      {:exit, _reason} -> {:reply, :error, state}
      nil -> {:reply, :timeout, state}
    end
  end
end
