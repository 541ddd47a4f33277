defmodule LateEndpoint.MixProject do
  use Mix.Project

  def project do
    [app: :late_endpoint, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [extra_applications: [:logger], mod: {LateEndpoint.Application, []}]
  end
end
