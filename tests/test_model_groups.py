"""The groups `:pg2` calls name, as the model reads them, and which may be the same."""

from __future__ import annotations

import pytest

from otp_thinking.model.groups import GroupCall, Sharing, Term, may_be_equal, sharing_file
from otp_thinking.model.summary import summarize
from otp_thinking.source import Source

MODULE = """\
defmodule Shop.Rooms do
  alias Shop.Chat
  @group {:rooms, :all}
  @named "#{__MODULE__}"

  def f(id) do
    :pg2.create(GROUP)
    :ok
  end
end
"""


def group_of(argument: str) -> Term:
    text = MODULE.replace("GROUP", argument)
    (call,) = summarize(Source(text, "lib/shop/rooms.ex"), "lib/shop/rooms.ex").pg2_calls
    assert (call.module, call.function) == ("Shop.Rooms", "create")
    return call.group


@pytest.mark.parametrize(
    ("argument", "term"),
    [
        (":chat", ":chat"),
        ("Chat", "Shop.Chat"),
        ("__MODULE__", "Shop.Rooms"),
        ("@group", (":rooms", ":all")),
        ('"lobby"', '"lobby"'),
        ("{:room, id}", (":room", None)),
        ("{:room, {Chat, 3}}", (":room", ("Shop.Chat", "3"))),
        ("@named", None),
        ('"room:#{id}"', None),
        ("id", None),
        ("group_for(id)", None),
    ],
)
def test_the_group_a_call_names(argument: str, term: Term) -> None:
    assert group_of(argument) == term


def test_a_piped_group_and_which_groups() -> None:
    text = "defmodule A do\n  def f, do: :a |> :pg2.get_members()\n  def g, do: :pg2.which_groups()\nend\n"
    found = summarize(Source(text, "lib/a.ex"), "lib/a.ex").pg2_calls
    assert [(c.function, c.group) for c in found] == [("get_members", ":a"), ("which_groups", None)]


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (":a", ":a", True),
        (":a", ":b", False),
        (None, ":b", True),
        ((":room", None), (":room", "3"), True),
        ((":room", None), (":hall", None), False),
        ((":room", None), ":room", False),
        ((":room", None), (":room", None, None), False),
    ],
)
def test_terms_that_may_be_equal(first: Term, second: Term, same: bool) -> None:
    assert may_be_equal(first, second) == same
    assert may_be_equal(second, first) == same


def test_the_first_other_file_that_may_share_a_group() -> None:
    def calls(*groups: Term) -> list[GroupCall]:
        return [GroupCall("M", "join", group, 0, 1) for group in groups]

    files = [("/a.ex", calls(":a")), ("/b.ex", calls(":b")), ("/c.ex", calls((":c", None)))]
    assert sharing_file("/a.ex", calls(":a"), files) is None
    assert sharing_file("/a.ex", calls(":b"), files) == Sharing("/b.ex", certain=True)
    assert sharing_file("/x.ex", calls((":c", "1")), files) == Sharing("/c.ex", certain=False)
    assert sharing_file("/x.ex", calls(None), files) == Sharing("/a.ex", certain=False)
    # a file naming the same group for certain is preferred to one that only may
    assert sharing_file("/x.ex", calls(":b", None), files) == Sharing("/b.ex", certain=True)
