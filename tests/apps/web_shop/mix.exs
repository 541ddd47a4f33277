defmodule WebShop.MixProject do
  use Mix.Project

  def project do
    [app: :web_shop, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [extra_applications: [:logger], mod: {WebShop.Application, []}]
  end
end
