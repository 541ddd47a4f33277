defmodule BootOrder.MixProject do
  use Mix.Project

  def project do
    [app: :boot_order, version: "0.1.0", elixir: "~> 1.14", deps: []]
  end

  def application do
    [extra_applications: [:logger], mod: {BootOrder.Application, []}]
  end
end
