"""The project index: children found beyond a literal `children = [...]`, and where fixes
insert a missing child."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import mix_formatted
from otp_thinking.findings import apply_edits
from otp_thinking.project import applications_in
from otp_thinking.source import Source


def _app(body: str):  # type: ignore[no-untyped-def]
    text = f"defmodule Shop.Application do\n  use Application\n\n{body}end\n"
    (app,) = applications_in(Source(text, "application.ex"), Path("application.ex"))
    return app, text


def test_concatenated_children_insert_into_the_leading_list() -> None:
    app, text = _app(
        "  def start(_, _) do\n"
        "    children = [\n      Shop.Repo\n    ] ++ workers()\n"
        "    Supervisor.start_link(children, strategy: :one_for_one)\n"
        "  end\n\n"
        "  defp workers, do: [{Task.Supervisor, name: Shop.Tasks}]\n"
    )
    assert app.named("task_supervisor") == ["Shop.Tasks"]
    edit = app.add_child("{Registry, keys: :unique, name: Shop.Registry}")
    assert edit is not None
    # after the Repo (infrastructure its users may need), in the leading list
    assert (
        "children = [\n      Shop.Repo,\n      {Registry, keys: :unique, name: Shop.Registry}\n"
        in (apply_edits(text, [edit]))
    )


def test_children_function() -> None:
    app, text = _app(
        "  def start(_, _), do: Supervisor.start_link(children(), strategy: :one_for_one)\n\n"
        "  defp children do\n    [\n"
        "      {Registry, [keys: :unique, name: Shop.Names]}\n    ]\n  end\n"
    )
    known = [(c.kind, c.name, c.keys) for c in app.children if c.kind != "other"]
    assert known == [("registry", "Shop.Names", ":unique")]
    edit = app.add_child("%{id: :pg, start: {:pg, :start_link, []}}")
    assert edit is not None
    assert "[\n      {Registry, [keys: :unique, name: Shop.Names]},\n      %{id: :pg" in (
        apply_edits(text, [edit])
    )


def test_literal_children_list_unchanged() -> None:
    app, _ = _app(
        "  def start(_, _) do\n"
        "    children = [{Task.Supervisor, name: Shop.Tasks}, "
        "%{id: :pg, start: {:pg, :start_link, []}}]\n"
        "    Supervisor.start_link(children, strategy: :one_for_one)\n"
        "  end\n"
    )
    assert [(c.kind, c.name) for c in app.children if c.kind != "other"] == [
        ("task_supervisor", "Shop.Tasks"),
        ("pg", ":pg"),
    ]


INLINE = "    Supervisor.start_link([Shop.Repo, ShopWeb.Endpoint], {options})\n"
TASKS = "{Task.Supervisor, name: Shop.TaskSupervisor}"


def _started_inline(options: str) -> str:
    app, text = _app(f"  def start(_type, _args) do\n{INLINE.format(options=options)}  end\n")
    edit = app.add_child(TASKS)
    assert edit is not None
    return apply_edits(text, [edit])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (  # the options after the list: every argument on its own line
            "strategy: :one_for_one, name: Shop.Supervisor",
            "    Supervisor.start_link(\n      [\n        Shop.Repo,\n        {TASKS},\n"
            "        ShopWeb.Endpoint\n      ],\n      strategy: :one_for_one,\n"
            "      name: Shop.Supervisor\n    )\n",
        ),
        (
            "opts_for(:shop, :one_for_one, max_restarts: 10)",
            "    Supervisor.start_link(\n      [\n        Shop.Repo,\n        {TASKS},\n"
            "        ShopWeb.Endpoint\n      ],\n      opts_for(:shop, :one_for_one, "
            "max_restarts: 10)\n    )\n",
        ),
    ],
)
def test_a_list_written_inline_in_a_call_is_laid_out_as_mix_format_does(
    options: str, expected: str
) -> None:
    """`mix format` breaks a call whose children list, followed by its options, no longer
    fits on one line: one argument a line."""
    fixed = _started_inline(options)
    assert expected.replace("{TASKS}", TASKS) in fixed
    if shutil.which("elixir"):
        assert fixed == mix_formatted(fixed)
