"""The model's supervision facts: children in every spelling, names started, and what cannot be
read said so."""

from __future__ import annotations

import pytest

from otp_thinking.model.summary import summarize
from otp_thinking.model.supervision import (
    COMPUTED,
    CONDITIONAL,
    LITERAL,
    OTHER,
    PG,
    REGISTRY,
    TASK_PARTITIONS,
    TASK_SUPERVISOR,
    UNKNOWN,
    Child,
    ChildrenList,
    Supervision,
    insertion_index,
)
from otp_thinking.source import Source


def facts(text: str) -> Supervision:
    return summarize(Source(text, "lib/shop/application.ex"), "lib/shop/application.ex").supervision


def app(children: str, before: str = "", after: str = "") -> str:
    return (
        "defmodule Shop.Application do\n  use Application\n  alias Shop.Tasks\n\n"
        f"  def start(_type, _args) do\n{before}    children = {children}\n"
        "    Supervisor.start_link(children, strategy: :one_for_one)\n  end\n"
        f"{after}end\n"
    )


def only_list(text: str) -> ChildrenList:
    (found,) = facts(text).lists
    return found


def child(spelling: str) -> Child:
    (found,) = only_list(app(f"[{spelling}]")).children
    return found


def shape(found: Child) -> tuple[str, str | None, str | None, str | None, str | None]:
    return found.kind, found.module, found.name, found.child_id, found.restart


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("Shop.Repo", (OTHER, "Shop.Repo", None, "Shop.Repo", None)),
        ("Tasks", (OTHER, "Shop.Tasks", None, "Shop.Tasks", None)),
        ("{Shop.Worker, 3}", (OTHER, "Shop.Worker", None, "Shop.Worker", None)),
        (
            "{Task.Supervisor, name: Shop.TaskSup}",
            (TASK_SUPERVISOR, "Task.Supervisor", "Shop.TaskSup", "Shop.TaskSup", None),
        ),
        (
            "{Task.Supervisor, [name: Shop.TaskSup]}",
            (TASK_SUPERVISOR, "Task.Supervisor", "Shop.TaskSup", "Shop.TaskSup", None),
        ),
        ("Task.Supervisor", (TASK_SUPERVISOR, "Task.Supervisor", None, "Task.Supervisor", None)),
        (
            "Tasks.child_spec()",
            (OTHER, "Shop.Tasks", None, "Shop.Tasks", None),
        ),
        (
            "Task.Supervisor.child_spec(name: Shop.Jobs)",
            (TASK_SUPERVISOR, "Task.Supervisor", "Shop.Jobs", "Shop.Jobs", None),
        ),
        (
            "Supervisor.child_spec({Task.Supervisor, name: Shop.Jobs}, id: :jobs, "
            "restart: :temporary)",
            (TASK_SUPERVISOR, "Task.Supervisor", "Shop.Jobs", ":jobs", ":temporary"),
        ),
        (
            "%{id: :names, start: {Registry, :start_link, [:unique, Shop.Names]}}",
            (REGISTRY, "Registry", "Shop.Names", ":names", None),
        ),
        (
            "%{id: :names, start: {Registry, :start_link, [[keys: :unique, name: Shop.Names]]}, "
            "restart: :transient}",
            (REGISTRY, "Registry", "Shop.Names", ":names", ":transient"),
        ),
        ("%{id: :pg, start: {:pg, :start_link, []}}", (PG, ":pg", ":pg", ":pg", None)),
        (
            "%{id: :scope, start: {:pg, :start_link, [:scope]}}",
            (PG, ":pg", ":scope", ":scope", None),
        ),
        ("{:pg, :scope}", (PG, ":pg", ":scope", ":scope", None)),
        ("worker(Shop.Worker, [])", (OTHER, "Shop.Worker", None, "Shop.Worker", None)),
        (
            "supervisor(Task.Supervisor, [[name: Shop.Jobs]])",
            (TASK_SUPERVISOR, "Task.Supervisor", "Shop.Jobs", "Shop.Jobs", None),
        ),
        (
            "supervisor(Registry, [:unique, :guilds], id: 1)",
            (REGISTRY, "Registry", ":guilds", ":guilds", None),  # an id of 1 is not read
        ),
        (
            "worker(Shop.Worker, [[name: X]], restart: :temporary)",
            (OTHER, "Shop.Worker", "X", "Shop.Worker", ":temporary"),
        ),
        ("worker_spec()", (UNKNOWN, None, None, None, None)),
        ("spec", (UNKNOWN, None, None, None, None)),
        ("%{id: :x, start: start_fun()}", (UNKNOWN, None, None, ":x", None)),
    ],
)
def test_a_child_in_every_spelling(spelling: str, expected: tuple[str, ...]) -> None:
    assert shape(child(spelling)) == expected


def test_registry_keys_in_every_spelling() -> None:
    registries = only_list(
        app(
            "[\n      {Registry, keys: :duplicate, name: Shop.Events},\n"
            "      {Registry, [keys: :unique, name: Shop.Names]},\n"
            "      %{id: :p, start: {Registry, :start_link, [:duplicate, Shop.Topics]}}\n    ]"
        )
    ).children
    assert [(c.name, c.keys) for c in registries] == [
        ("Shop.Events", ":duplicate"),
        ("Shop.Names", ":unique"),
        ("Shop.Topics", ":duplicate"),
    ]


def test_the_old_supervisor_spec_helpers() -> None:
    """``supervise(children, opts)`` starts its children, but takes no modern child spec a
    fix could add; ``supervisor(Registry, [:unique, name])`` starts a Registry by name."""
    text = (
        "defmodule Shop.Cache.Supervisor do\n  use Supervisor\n\n  def init(:ok) do\n"
        "    children = [supervisor(Registry, [:unique, :guilds], id: 1), worker(Shop.User, [])]\n"
        "    supervise(children, strategy: :one_for_one)\n  end\nend\n"
    )
    found = facts(text)
    (listed,) = found.lists
    assert [c.module for c in listed.children] == ["Registry", "Shop.User"]
    assert listed.placement == LITERAL and not listed.insertable
    assert [(n.kind, n.name, n.keys) for n in found.names] == [(REGISTRY, ":guilds", ":unique")]


def test_the_spec_helpers_called_on_an_alias_made_inside_start() -> None:
    """Old application modules write ``alias Supervisor.Spec`` in ``start/2`` and list
    ``Spec.worker(Mod, args)``: the child is ``Mod``."""
    text = app(
        "[\n      Spec.worker(Shop.Set, _args = [Blacklist, [name: Blacklist]]),\n"
        "      Supervisor.Spec.supervisor(Shop.Sup, []),\n      Other.worker(Shop.X, [])\n    ]",
        before="    alias Supervisor.Spec\n\n",
    )
    children = only_list(text).children
    assert [(c.kind, c.module) for c in children] == [
        (OTHER, "Shop.Set"),
        (OTHER, "Shop.Sup"),
        (UNKNOWN, None),
    ]


def test_unknown_entries_make_the_list_incomplete() -> None:
    found = only_list(app("[Shop.Repo, extra_spec()]"))
    assert found.placement == LITERAL and found.insertable and not found.complete


def test_a_list_joined_with_a_function_result() -> None:
    text = app("[Shop.Repo] ++ workers() ++ extra", after="\n  defp workers, do: [Shop.Worker]\n")
    leading, workers, extra = facts(text).lists
    assert (leading.placement, leading.insertable) == (LITERAL, True)
    assert [c.module for c in workers.children] == ["Shop.Worker"]
    assert workers.placement == LITERAL and not workers.insertable
    assert (extra.placement, extra.complete) == (COMPUTED, False)


def test_children_added_in_a_branch_are_conditional() -> None:
    text = app(
        "[Shop.Repo]\n    children = if dev?(), do: children ++ [{Task.Supervisor, "
        "name: Shop.DevTasks}], else: children\n"
    )
    first, branch = facts(text).lists
    assert first.placement == LITERAL and first.function == "start"
    assert branch.placement == CONDITIONAL
    assert [c.name for c in branch.children] == ["Shop.DevTasks"]


def test_children_from_a_local_function_with_clauses() -> None:
    text = (
        "defmodule Shop.Sup do\n  use Supervisor\n\n"
        "  def init(mode) do\n    Supervisor.init(children(mode), strategy: :one_for_one)\n  end\n\n"
        "  defp children(:full), do: [Shop.A, Shop.B]\n  defp children(_), do: [Shop.A]\nend\n"
    )
    found = facts(text).lists
    assert [(f.owner, f.function, f.placement) for f in found] == [
        ("Shop.Sup", "init", CONDITIONAL),
        ("Shop.Sup", "init", CONDITIONAL),
    ]


def test_a_piped_children_list() -> None:
    text = (
        "defmodule Shop.Sup do\n  def init(_) do\n"
        "    [Shop.A]\n    |> Supervisor.init(strategy: :one_for_one)\n  end\nend\n"
    )
    (found,) = facts(text).lists
    assert found.insertable and [c.module for c in found.children] == ["Shop.A"]


@pytest.mark.parametrize(
    "children",
    [
        "Enum.reject([Shop.Repo, {Task.Supervisor, [name: Shop.Tasks]}, nil], &is_nil/1)",
        "[Shop.Repo, {Task.Supervisor, [name: Shop.Tasks]}, nil] |> Enum.reject(&is_nil/1)",
        "Enum.filter([Shop.Repo, {Task.Supervisor, [name: Shop.Tasks]}, nil], & &1)",
    ],
)
def test_a_list_without_its_nils_still_starts_every_child(children: str) -> None:
    (found,) = facts(app(children)).lists
    assert found.placement == LITERAL
    assert [c.name for c in found.children if c.kind == TASK_SUPERVISOR] == ["Shop.Tasks"]


def test_a_filtered_list_is_computed() -> None:
    (found,) = facts(app("Enum.filter([Shop.Repo, Shop.Cache], &enabled?/1)")).lists
    assert (found.placement, found.complete) == (COMPUTED, False)


def test_a_list_built_at_run_time_is_computed() -> None:
    (found,) = facts(app("Enum.map(specs(), &child/1)")).lists
    assert (found.placement, found.complete, found.insertable) == (COMPUTED, False, False)


def names(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(n.kind, n.name, n.keys) for n in facts(text).names]


@pytest.mark.parametrize(
    "spec",
    [
        "{PartitionSupervisor, child_spec: Task.Supervisor, name: Shop.Tasks}",
        "{PartitionSupervisor, [child_spec: {Task.Supervisor, []}, name: Shop.Tasks]}",
    ],
)
def test_partitioned_task_supervisors_are_their_own_kind(spec: str) -> None:
    """Tasks go to ``{:via, PartitionSupervisor, {Shop.Tasks, key}}``, never to
    ``Shop.Tasks``: not a Task.Supervisor name."""
    (found,) = facts(app(f"[Shop.Repo, {spec}]")).lists
    assert [(c.kind, c.name) for c in found.children] == [
        (OTHER, None),
        (TASK_PARTITIONS, "Shop.Tasks"),
    ]
    assert names(app(f"[{spec}]")) == [(TASK_PARTITIONS, "Shop.Tasks", None)]


def test_a_name_given_through_the_old_supervisor_spec_helpers() -> None:
    text = app("[supervisor(Task.Supervisor, [[name: Shop.Jobs]]), worker(Shop.W, [[name: X]])]")
    assert names(text) == [(TASK_SUPERVISOR, "Shop.Jobs", None), (OTHER, "X", None)]


def test_partitioned_dynamic_supervisors_are_not_task_supervisors() -> None:
    spec = "{PartitionSupervisor, child_spec: DynamicSupervisor, name: Shop.Rooms}"
    (found,) = facts(app(f"[{spec}]")).lists
    assert [c.kind for c in found.children] == [OTHER]
    started = "PartitionSupervisor.start_link(child_spec: Task.Supervisor, name: Shop.Tasks)"
    text = f"defmodule Shop.Boot do\n  def start, do: {started}\nend\n"
    assert names(text) == [(TASK_PARTITIONS, "Shop.Tasks", None)]


def test_names_started_outside_children_lists() -> None:
    text = (
        "defmodule Shop.Tasks do\n"
        "  def child_spec(_), do: Task.Supervisor.child_spec(name: __MODULE__)\n"
        "  def names, do: Registry.start_link(:unique, Shop.Names)\n"
        "  def topics, do: Registry.start_link(keys: :duplicate, name: Shop.Topics)\n"
        "  def scope, do: :pg.start_link(:shop)\n"
        "  def default, do: :pg.start_link()\n"
        "  def worker(opts), do: GenServer.start_link(Shop.W, opts, name: Shop.W)\n"
        "end\n"
    )
    assert names(text) == [
        (TASK_SUPERVISOR, "Shop.Tasks", None),
        (REGISTRY, "Shop.Names", ":unique"),
        (REGISTRY, "Shop.Topics", ":duplicate"),
        (PG, ":shop", None),
        (PG, ":pg", None),
        (OTHER, "Shop.W", None),
    ]


def test_names_that_cannot_be_read_are_unknown_of_their_kind() -> None:
    text = (
        "defmodule Shop.Tasks do\n"
        "  def a, do: Task.Supervisor.start_link(name: Shop.Config.tasks())\n"
        "  def b(name), do: Registry.start_link(:unique, name)\n"
        "  defmacro __using__(opts) do\n"
        "    quote do: {Registry, keys: :unique, name: unquote(opts[:name])}\n"
        "  end\n"
        "  def c(opts), do: GenServer.start_link(Shop.W, opts, name: opts[:name])\n"
        "end\n"
    )
    assert names(text) == [
        (TASK_SUPERVISOR, None, None),
        (REGISTRY, None, ":unique"),
        (REGISTRY, None, ":unique"),
    ]


def test_a_computed_name_counts_for_every_literal_inside() -> None:
    text = (
        "defmodule Shop.T do\n  def s(o), do: {Task.Supervisor, name: o[:name] || Shop.Jobs}\nend\n"
    )
    assert names(text) == [(TASK_SUPERVISOR, "Shop.Jobs", None)]


@pytest.mark.parametrize(
    "text",
    [
        app("[\n      Shop.Repo,\n      {Task.Supervisor, name: "),
        app("[Shop.Repo, {Registry, keys: :unique, name: Shop.Names}", after="  def x(\n"),
        "defmodule Shop.Application do\n  def start(_, _) do\n    children = [\n",
        "defmodule Shop.Sup do\n  def init(_), do: Supervisor.init(\n",
    ],
)
def test_a_half_written_buffer_gives_facts_not_errors(text: str) -> None:
    found = facts(text)
    for children in found.lists:
        assert children.placement in (LITERAL, CONDITIONAL, COMPUTED)


def test_half_written_children_keep_what_is_readable() -> None:
    text = app("[\n      Shop.Repo,\n      {Registry, keys: :unique, name: Shop.Names},\n      {")
    started = {n.name for n in facts(text).names}
    assert "Shop.Names" in started


@pytest.mark.parametrize(
    ("children", "users", "expected"),
    [
        (("Shop.Telemetry", "Shop.Repo", "Shop.Worker", "ShopWeb.Endpoint"), set(), 2),
        (("Shop.Repo", "Phoenix.PubSub", "Shop.Worker"), {"Shop.Worker"}, 2),
        (("Shop.Worker", "Shop.Repo"), {"Shop.Worker"}, 0),
        (("Shop.Repo", "Finch", "ShopWeb.Endpoint"), {"ShopWeb.PageLive"}, 2),
        (("Shop.Repo", "Shop.Worker", "Phoenix.PubSub", "ShopWeb.Endpoint"), set(), 3),
        (("Shop.Worker", "Shop.Other"), set(), 0),
        ((), set(), 0),
        # The Endpoint before the rest of the infrastructure: the new child still starts before
        # it, so it is stopped after it and no request still being served finds it gone.
        (("Shop.Repo", "ShopWeb.Endpoint", "ShopWeb.Presence", "Shop.Registry"), {"Shop.A"}, 1),
        # A child the model cannot read may be a user: the new child starts before it.
        (("Shop.Repo", "?", "Shop.Worker", "Shop.Telemetry"), {"Shop.Worker"}, 1),
    ],
)
def test_where_a_new_child_goes(children: tuple[str, ...], users: set[str], expected: int) -> None:
    assert insertion_index(list_of(*children), frozenset(users)) == expected


def list_of(*modules: str) -> tuple[Child, ...]:
    """Children of these modules (``?``: one the model cannot read)."""
    kinds = {"Task.Supervisor": TASK_SUPERVISOR, "?": UNKNOWN}
    return tuple(Child(kinds.get(m, OTHER), None if m == "?" else m) for m in modules)


def test_a_module_based_supervisor_start_is_no_children_list() -> None:
    text = (
        "defmodule Shop.Sup do\n  use Supervisor\n"
        "  def start_link(arg), do: Supervisor.start_link(__MODULE__, arg, name: __MODULE__)\n"
        "  def other(arg), do: Supervisor.start_link(Shop.Other, arg)\nend\n"
    )
    assert facts(text).lists == ()
    assert names(text) == [(OTHER, "Shop.Sup", None)]


def test_a_via_name_uses_a_registry_and_starts_nothing() -> None:
    text = (
        "defmodule Shop.Room do\n"
        "  def start_link(id), do: GenServer.start_link(__MODULE__, id, "
        "name: {:via, Registry, {Shop.Rooms, id}})\nend\n"
    )
    assert names(text) == []


def test_names_handed_to_helpers_while_starting() -> None:
    text = """
defmodule Shop.Cloak do
  import Common.Specs
  alias Common.Specs
  @topics __MODULE__.Topics

  def child_spec(_), do: supervisor([registry(:duplicate, @topics), Shop.Worker], [])
  def start_link(_), do: Specs.start(Shop.Cloak.Sessions, Keyword.put([], :name, Shop.Other))
  def init(_), do: Supervisor.init([Shop.Worker], strategy: :one_for_one)
  def lookup(key), do: Specs.find(Shop.Cloak.Lookups, key)
"""
    summary = summarize(Source(text, "lib/shop/cloak.ex"), "lib/shop/cloak.ex")
    assert summary.handed_names == ("Shop.Cloak.Topics", "Shop.Cloak.Sessions")


def test_children_started_at_run_time_and_their_restart_type() -> None:
    """A spec map without ``:restart`` gets the default of every map (``:permanent``), not the
    module's ``child_spec``; ``{Mod, value}`` leaves it to the module; the run-time value the
    spec carries names what each child stands for."""
    text = (
        "defmodule Shop.Starts do\n"
        "  def by_map(id) do\n"
        "    spec = %{id: id, start: {Shop.Worker, :start_link, [id]}}\n"
        "    DynamicSupervisor.start_child(Shop.Sup, spec)\n  end\n\n"
        "  def by_tuple(tenant_id), do: DynamicSupervisor.start_child(Shop.Sup, {Shop.W, tenant_id})\n"
        "  def by_pair(ifname, address),\n"
        "    do: DynamicSupervisor.start_child(Shop.Sup, {Shop.W, {ifname, address}})\n"
        "  def by_call(user), do: DynamicSupervisor.start_child(Shop.Sup, {Shop.W, key(user)})\n"
        "end\n"
    )
    by_map, by_tuple, by_pair, by_call = facts(text).dynamic_starts
    assert (by_map.restart, by_map.restart_default, by_map.entities) == (
        ":permanent",
        True,
        ("id",),
    )
    assert (by_tuple.restart, by_tuple.restart_default, by_tuple.entities) == (
        None,
        False,
        ("tenant_id",),
    )
    assert by_pair.entities == ("ifname", "address") and by_pair.keyed_by_all
    assert not by_tuple.keyed_by_all
    assert by_call.entities == ("key(user)",)
    assert by_map.per_entity and by_tuple.per_entity and by_pair.per_entity
