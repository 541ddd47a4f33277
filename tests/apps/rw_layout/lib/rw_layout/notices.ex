defmodule RwLayout.Notices do
  @moduledoc "One-line function bodies that start a task: their rewrites must be laid out as
  `mix format` lays them out."

  def welcome(pid), do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :welcome, :by_mail) end)
  def receipt(pid), do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :receipt, :by_post) end)
  def digest(pid, day), do: Task.start(RwLayout.Outbox, :deliver, [pid, {:digest, day}, :mail])
  defp nudge(pid), do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :nudge, :by_pigeon) end)

  def reminder(pid),
    do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :reminder, :by_carrier_pigeon_post) end)

  def invoice(pid, n) when n > 0, do: Task.start(fn -> RwLayout.Outbox.deliver(pid, n) end)

  def farewell(pid),
    do: Task.start(RwLayout.Outbox, :deliver, [pid, :farewell, :by_registered_mail_today])

  def notify(pid, wanted?) do
    if wanted?, do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :notice, :by_mail) end)
    :ok
  end

  def nag(pid, done?) do
    unless done?, do: Task.start(fn -> RwLayout.Outbox.deliver(pid, :nag, :by_pigeon_post) end)
    :ok
  end

  # the last one goes through a private function
  def nudged(pid), do: nudge(pid)
end
