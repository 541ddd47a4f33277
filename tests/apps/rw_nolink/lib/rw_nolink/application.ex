defmodule RwNolink.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      {Task.Supervisor, name: RwNolink.Tasks},
      RwNolink.Mailer
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: RwNolink.Supervisor)
  end
end
