defmodule PipedChildren.Application do
  @moduledoc "The children list is piped into a helper that joins more after it in some envs."
  use Application

  @impl true
  def start(_type, _args) do
    children =
      [
        PipedChildren.Repo,
        PipedChildrenWeb.Endpoint
      ]
      |> add_consumer(Application.get_env(:piped_children, :environment, :prod))

    Supervisor.start_link(children, strategy: :one_for_one, name: PipedChildren.Supervisor)
  end

  defp add_consumer(children, :test), do: children
  defp add_consumer(children, _env), do: children ++ [PipedChildren.Consumer]
end
