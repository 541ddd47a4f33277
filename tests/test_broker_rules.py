"""What OTP401 and OTP402 say: the reason a Broadway producer counts as app-fed, the broker and
the Broadway producer to use instead, and whether an Oban worker polls by rescheduling itself."""

from __future__ import annotations

from otp_thinking.engine import analyze
from otp_thinking.registry import find_rule
from otp_thinking.source import Source


def _messages(code: str, text: str) -> list[str]:
    rule = find_rule(code)
    assert rule is not None
    return [f.message for f in analyze(Source(text, "lib/shop/x.ex"), rules=[rule])]


WORKER = """\
defmodule Shop.Poll do
  use Oban.Worker
  alias ExAws.SQS

  def perform(%Oban.Job{{}}) do
    "q" |> SQS.receive_message() |> ExAws.request()
    {tail}
  end
end
"""


def test_oban_message_names_the_broker_the_full_call_and_the_producer() -> None:
    [message] = _messages("OTP402", WORKER.format(tail=":ok"))
    assert "consumes SQS messages with ExAws.SQS.receive_message," in message
    assert "(BroadwaySQS)" in message
    assert "reschedules" not in message


def test_oban_message_says_when_the_worker_polls() -> None:
    for tail in ("%{} |> new(schedule_in: 5) |> Oban.insert()", "{:snooze, 5}"):
        [message] = _messages("OTP402", WORKER.format(tail=tail))
        assert "and reschedules itself to poll" in message


def test_oban_rule_follows_helpers_called_through_captures() -> None:
    text = """\
defmodule Shop.Drain do
  use Oban.Worker
  def perform(_job), do: Enum.each(1..3, &pull/1)
  defp pull(_), do: AMQP.Basic.get(:chan, "q")
end
"""
    assert len(_messages("OTP402", text)) == 1


def test_broadway_message_gives_the_reason_the_producer_is_app_fed() -> None:
    text = """\
defmodule Shop.Pipe do
  use Broadway

  defmodule Source do
    use GenStage
    def init(_), do: {:producer, :ok}
    def handle_demand(n, s), do: {:noreply, Shop.Repo.all(Shop.Job, limit: n), s}
  end

  def start_link(_),
    do: Broadway.start_link(__MODULE__, name: __MODULE__, producer: [module: {Source, []}])
end
"""
    [message] = _messages("OTP401", text)
    assert message.startswith(
        "Source makes this Broadway pipeline a hand-rolled DB-backed job queue "
        "(it polls the app's Repo)"
    )
