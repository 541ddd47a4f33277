defmodule RwLayout.MixProject do
  use Mix.Project

  def project do
    [app: :rw_layout, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [extra_applications: [:logger], mod: {RwLayout.Application, []}]
  end
end
