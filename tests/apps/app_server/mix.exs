defmodule AppServer.MixProject do
  use Mix.Project

  def project do
    [app: :app_server, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [extra_applications: [:logger], mod: {AppServer.Application, []}]
  end
end
