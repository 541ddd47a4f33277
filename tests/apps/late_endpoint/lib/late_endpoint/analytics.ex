defmodule LateEndpoint.Analytics do
  @moduledoc "Called by controllers on every request: the requests reach it through the Endpoint."

  def track(event) do
    Task.start(fn -> IO.puts("tracked #{inspect(event)}") end)
  end
end
