defmodule RwLayout.Outbox do
  @moduledoc "Stands for a slow delivery: tells the caller what was sent."

  def deliver(pid, what, how \\ :by_mail), do: send(pid, {:delivered, what, how})
end
