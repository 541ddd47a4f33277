defmodule PipedChildrenWeb.Notifier do
  @moduledoc "Called by controllers: notifies followers without making the request wait."

  def notify(event) do
    Task.start(fn -> IO.puts("notified #{inspect(event)}") end)
  end
end
