defmodule Storefront.MixProject do
  use Mix.Project

  def project do
    [app: :storefront, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [mod: {Storefront.Application, []}, extra_applications: [:logger]]
  end
end
