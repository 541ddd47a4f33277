defmodule Spellings.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      Spellings.Jobs.child_spec(),
      Supervisor.child_spec({Task.Supervisor, name: Spellings.Other}, id: :other),
      %{id: :names, start: {Registry, :start_link, [:unique, Spellings.Names]}},
      {Registry, keys: :duplicate, name: Spellings.Registry},
      Spellings.Worker
    ]

    children =
      if Application.get_env(:spellings, :extra, false),
        do: children ++ [{Task.Supervisor, name: Spellings.Extra}],
        else: children

    Supervisor.start_link(children, strategy: :one_for_one, name: Spellings.Supervisor)
  end
end
