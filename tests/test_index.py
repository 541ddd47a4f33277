"""The project index: what a summary keeps, what the index derives, how it stays current, and
what reads it (OTP002's severity, baselines' fingerprints)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from otp_thinking import callbacks
from otp_thinking.baseline import fingerprints
from otp_thinking.context import Context
from otp_thinking.engine import analyze
from otp_thinking.index import ProjectIndex
from otp_thinking.model import modules
from otp_thinking.model.callers import HOT_PATH_MODULES
from otp_thinking.model.summary import summarize
from otp_thinking.output import Located, TextLines
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace


def _summary(text: str, path: str = "lib/x.ex"):
    return summarize(Source(text, path), path)


def test_names_resolve_through_aliases_attributes_and_module_concat() -> None:
    summary = _summary(
        """defmodule Shop.Orders do
  alias Shop.{Billing, Tasks}
  alias Shop.Registry, as: Reg
  @sup Shop.Sup

  def a, do: Task.Supervisor.async_nolink(Tasks.Sup, fn -> 1 end)
  def b, do: Task.Supervisor.start_child(@sup, fn -> 1 end)
  def c, do: {:via, Registry, {Reg, 1}}
  def d, do: Registry.lookup(__MODULE__.Names, 1)
  def e, do: Task.Supervisor.async_nolink(Module.concat(Billing, Tasks), fn -> 1 end)
  def f(sup), do: Task.Supervisor.async_nolink(sup, fn -> 1 end)
  def g, do: :pg.get_members(:scope, :group)
  def h, do: :pg.get_members(:group)
end
"""
    )
    assert [(u.kind, u.name, u.via) for u in summary.uses] == [
        ("task_supervisor", "Shop.Tasks.Sup", False),
        ("task_supervisor", "Shop.Sup", False),
        ("registry", "Shop.Registry", True),
        ("registry", "Shop.Orders.Names", False),
        ("task_supervisor", "Shop.Billing.Shop.Tasks", False),
        ("pg", ":scope", False),
    ]


def test_started_names_come_from_any_name_option_and_pg_shapes() -> None:
    summary = _summary(
        """defmodule Shop.Application do
  def start(_, _) do
    children = [
      {Task.Supervisor, name: Shop.Tasks},
      {Registry, keys: :unique, name: Keyword.get(opts(), :name, Shop.Names)},
      {:pg, :shop_scope},
      %{id: :other, start: {:pg, :start_link, [:other_scope]}}
    ]
    :pg.start_link(:third_scope)
    Supervisor.start_link(children, strategy: :one_for_one)
  end
end
"""
    )
    started = {start.name for start in summary.supervision.names}
    for name in ("Shop.Tasks", "Shop.Names", ":shop_scope", ":other_scope", ":third_scope"):
        assert name in started


def test_client_functions_directly_and_through_private_helpers() -> None:
    summary = _summary(
        """defmodule Shop.Prices do
  use GenServer
  @name :prices
  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: @name)
  def get(sku), do: GenServer.call(@name, {:get, sku})
  def put(sku, price) do
    call({:put, sku, price})
  end
  def cached(sku), do: :persistent_term.get({__MODULE__, sku}) || GenServer.call(@name, sku)
  defp call(message), do: GenServer.call(__MODULE__, message)
end
"""
    )
    [module] = summary.modules
    assert module.genserver and module.registers == (":prices",)
    assert [(c.target, c.functions) for c in summary.server_calls] == [
        (":prices", ("get",)),
        ("Shop.Prices", ("put",)),
    ]


def test_a_global_name_and_an_alias_of_the_module_itself_are_read() -> None:
    summary = _summary(
        """defmodule Shop.Config do
  use GenServer
  alias __MODULE__
  @server {:global, __MODULE__}
  def start_link(_), do: GenServer.start_link(Config, nil, name: {:global, :shop_config})
  def get(key), do: GenServer.call(@server, {:get, key})
  def all, do: GenServer.call({:global, :shop_config}, :all)
  def per_node, do: GenServer.call({:global, {:config, node()}}, :all)
end
"""
    )
    [module] = summary.modules
    assert module.registers == (":shop_config",)
    assert [(c.target, c.functions) for c in summary.server_calls] == [
        ("Shop.Config", ("get",)),
        (":shop_config", ("all",)),
    ]


def test_summaries_are_plain_picklable_data() -> None:
    summary = _summary("defmodule A do\n  def f, do: B.g()\nend\n")
    assert pickle.loads(pickle.dumps(summary)) == summary


def _index(files: dict[str, str]) -> ProjectIndex:
    index = ProjectIndex(Path("/p"))
    for path, text in files.items():
        index.update(summarize(Source(text, path), path, short_lived=path.startswith("test/")))
    index.complete = True
    return index


STORE = """defmodule Shop.Catalog do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)
  def get(sku), do: GenServer.call(__MODULE__, {:get, sku})
  def all, do: GenServer.call(__MODULE__, :all)
  def put(sku, item), do: GenServer.cast(__MODULE__, {:put, sku, item})

  @impl true
  def init(items), do: {:ok, items}

  @impl true
  def handle_call({:get, sku}, _from, items), do: {:reply, Map.get(items, sku), items}
  def handle_call(:all, _from, items), do: {:reply, Map.values(items), items}

  @impl true
  def handle_cast({:put, sku, item}, items), do: {:noreply, Map.put(items, sku, item)}
end
"""


def _callers(count: int, folder: str = "lib") -> dict[str, str]:
    return {
        f"{folder}/c{n}.ex": f"defmodule Shop.C{n} do\n  def f, do: Shop.Catalog.get(1)\nend\n"
        for n in range(count)
    }


def test_callers_count_other_modules_in_production_code() -> None:
    index = _index({"lib/catalog.ex": STORE, **_callers(2), **_callers(3, "test")})
    callers = index.facts.callers("Shop.Catalog")
    assert len(callers.sites) == 2 and not callers.hot
    index = _index({"lib/catalog.ex": STORE, **_callers(HOT_PATH_MODULES)})
    assert index.facts.callers("Shop.Catalog").hot


def test_callers_say_which_modules_ask_each_request() -> None:
    admin = "defmodule Shop.Admin do\n  def f, do: Shop.Catalog.all()\nend\n"
    index = _index({"lib/catalog.ex": STORE, **_callers(2), "lib/admin.ex": admin})
    callers = index.facts.callers("Shop.Catalog")
    assert callers.modules_asking("get") == ("Shop.C0", "Shop.C1")
    assert callers.modules_asking("all") == ("Shop.Admin",)
    assert callers.modules_asking("put") == ()  # a cast: not a call site


def test_server_calls_keep_the_request_atom_only_when_written_in_place() -> None:
    summary = _summary(
        "defmodule A do\n"
        "  def a(k), do: GenServer.call(__MODULE__, {:get, k})\n"
        "  def b, do: GenServer.call(__MODULE__, :all)\n"
        "  def c(request), do: GenServer.call(__MODULE__, request)\n"
        "end\n"
    )
    assert [c.request for c in summary.server_calls] == ["get", "all", ""]


def test_project_effect_follows_helpers_into_other_modules() -> None:
    server = (
        "defmodule Shop.Srv do\n"
        "  alias Shop.Prices\n"
        "  def handle_cast({:a, s}, st), do: (save(s); {:noreply, st})\n"
        "  def handle_cast({:b, s}, st), do: {:noreply, Map.put(st, :s, Prices.label(s))}\n"
        "  defp save(s), do: Prices.reprice(s)\n"
        "end\n"
    )
    prices = (
        "defmodule Shop.Prices do\n"
        "  def reprice(s), do: Shop.Repo.update_all(s, [])\n"
        "  def label(s), do: to_string(s)\n"
        "end\n"
    )
    index = _index({"lib/srv.ex": server, "lib/prices.ex": prices})
    source = Source(server, "lib/srv.ex")
    [module] = modules.of(Context(source))
    first, second = module.functions("handle_cast", 2)
    assert callbacks.project_effect(index.facts, module, first) == "Prices.reprice"
    assert callbacks.project_effect(index.facts, module, second) is None


def test_calls_from_lists_a_modules_calls_into_other_project_modules() -> None:
    index = _index({"lib/catalog.ex": STORE, **_callers(2)})
    assert [(c.target, c.function) for c in index.facts.calls_from("Shop.C1")] == [
        ("Shop.Catalog", "get")
    ]
    assert index.facts.calls_from("Shop.Nobody") == ()


def test_is_started_stays_silent_for_modules_and_foreign_namespaces() -> None:
    index = _index(
        {
            "lib/app.ex": "defmodule Shop.App do\n  def c, do: [{Task.Supervisor, name: Shop.T}]\nend\n",
            "lib/wrapper.ex": "defmodule Shop.Wrapper do\nend\n",
        }
    )
    assert index.facts.names.is_started("task_supervisor", "Shop.T")
    assert index.facts.names.is_started("task_supervisor", "Shop.Wrapper")
    assert index.facts.names.is_started("task_supervisor", "Oban.Tasks")  # a dependency's namespace
    assert not index.facts.names.is_started("task_supervisor", "Shop.Missing")
    assert not index.facts.names.is_started("pg", ":missing_scope")


def test_generation_moves_only_when_facts_change() -> None:
    index = _index({"lib/catalog.ex": STORE})
    generation = index.generation
    index.update(summarize(Source("\n" + STORE, "lib/catalog.ex"), "lib/catalog.ex"))
    assert index.generation == generation  # offsets moved, nothing else
    index.update(
        summarize(
            Source(STORE.replace("get(sku)", "fetch(sku)"), "lib/catalog.ex"), "lib/catalog.ex"
        )
    )
    assert index.generation == generation + 1


@pytest.mark.parametrize(
    ("callers", "severity"), [(1, "information"), (HOT_PATH_MODULES, "warning")]
)
def test_otp002_is_a_warning_when_many_modules_call_the_store(
    tmp_path: Path, callers: int, severity: str
) -> None:
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    for path, text in {"lib/catalog.ex": STORE, **_callers(callers)}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, "utf-8")
    store = tmp_path / "lib" / "catalog.ex"
    rule = find_rule("OTP002")
    assert rule is not None
    [finding] = analyze(Source(STORE, str(store)), project=scan(tmp_path), rules=[rule])
    assert finding.severity == severity


RATE = """defmodule Shop.Rate do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, 1.0, name: __MODULE__)
  def current, do: GenServer.call(__MODULE__, :current)
  def init(rate), do: {:ok, rate}
  def handle_call(:current, _from, rate), do: {:reply, rate, rate}
  def handle_call(:reload, _from, _rate), do: {:reply, :ok, 2.0}
  def handle_info({:rate, rate}, _old), do: {:noreply, rate}
end
"""


@pytest.mark.parametrize(
    ("first_caller", "fires"), [("ShopWeb.CartController", True), ("Shop.Nightly", False)]
)
def test_otp002_names_the_modules_asking_for_a_cached_value(
    tmp_path: Path, first_caller: str, fires: bool
) -> None:
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    callers = [first_caller, "Shop.B", "Shop.C"]
    files = {"lib/rate.ex": RATE} | {
        f"lib/c{n}.ex": f"defmodule {name} do\n  def f, do: Shop.Rate.current()\nend\n"
        for n, name in enumerate(callers)
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, "utf-8")
    rule = find_rule("OTP002")
    assert rule is not None
    source = Source(RATE, str(tmp_path / "lib" / "rate.ex"))
    findings = analyze(source, project=scan(tmp_path), rules=[rule])
    if not fires:
        assert findings == []
        return
    [finding] = findings
    assert finding.severity == "warning"
    assert (
        "(:current) one at a time through its mailbox, asked for by 3 modules, request "
        "handlers among them (ShopWeb.CartController, Shop.B, Shop.C);"
    ) in finding.message


def test_workspace_keeps_the_index_current_and_counts_revisions(tmp_path: Path) -> None:
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    (tmp_path / "lib").mkdir()
    user = tmp_path / "lib" / "user.ex"
    user.write_text(
        "defmodule Shop.User do\n  def f, do: Task.Supervisor.async_nolink(Shop.T, & &1)\nend\n",
        "utf-8",
    )
    workspace = Workspace()
    project = workspace.project_for(user)
    assert project.index.complete and not project.index.facts.names.is_started(
        "task_supervisor", "Shop.T"
    )
    revision = workspace.revision
    app = tmp_path / "lib" / "app.ex"
    workspace.file_changed(
        app, "defmodule Shop.App do\n  def c, do: [{Task.Supervisor, name: Shop.T}]\nend\n"
    )
    assert workspace.revision == revision + 1
    assert workspace.project_for(user).index.facts.names.is_started("task_supervisor", "Shop.T")
    workspace.file_changed(app, None)
    assert not workspace.project_for(user).index.facts.names.is_started("task_supervisor", "Shop.T")


def test_fingerprints_ignore_lines_and_count_repeats() -> None:
    rule = find_rule("OTP105")
    assert rule is not None
    text = "defmodule A do\n  def f, do: x()\n  def g, do: x()\nend\n"
    moved = "# a comment\n\n" + text

    def located(source_text: str) -> list[Located]:
        from otp_thinking.findings import Finding

        lines = TextLines(source_text)
        starts = [i for i in range(len(source_text)) if source_text.startswith("x()", i)]
        return [
            Located("lib/a.ex", lines, Finding("OTP105", "n", "warning", "m", s, s + 3))
            for s in starts
        ]

    before = fingerprints(located(text), Path("."))
    after = fingerprints(located(moved), Path("."))
    assert before == after and len(set(before)) == 2


def test_short_lived_files_are_judged_by_their_real_path(tmp_path: Path) -> None:
    """`[paths] test` globs match a file's path under the project's real root, whatever
    folder or file link it is reached through (folders resolved once, the file each time)."""
    project = tmp_path / "app"
    (project / "test" / "support").mkdir(parents=True)
    (project / "lib").mkdir()
    (project / "mix.exs").write_text("defmodule App.MixProject do\nend\n")
    helper = project / "test" / "support" / "helper.ex"
    helper.write_text("defmodule Helper do\nend\n")
    (project / "lib" / "app.ex").write_text("defmodule App do\nend\n")
    (tmp_path / "tests_link").symlink_to(project / "test", target_is_directory=True)
    (project / "lib" / "linked.ex").symlink_to(helper)
    workspace = Workspace()
    short_lived = workspace.short_lived_for(project)
    assert short_lived(helper)
    assert short_lived(tmp_path / "tests_link" / "support" / "helper.ex")
    assert short_lived(project / "lib" / "linked.ex")  # a link into test/
    assert not short_lived(project / "lib" / "app.ex")
    for path in (tmp_path / "tests_link" / "support" / "helper.ex", project / "lib" / "linked.ex"):
        assert workspace.real_path(path) == os.path.realpath(path)


def test_files_known_to_define_no_application_are_not_read_for_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import otp_thinking.workspace as workspace_module

    (tmp_path / "lib" / "shop").mkdir(parents=True)
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n")
    application = tmp_path / "lib" / "shop" / "application.ex"
    application.write_text(
        "defmodule Shop.Application do\n  use Application\n\n  def start(_type, _args) do\n"
        "    Supervisor.start_link([Shop.Repo], strategy: :one_for_one)\n  end\nend\n"
    )
    plain = tmp_path / "lib" / "shop" / "cart.ex"
    plain.write_text("defmodule Shop.Cart do\nend\n")
    read: list[str] = []

    def reading(path: str | Path) -> str | None:
        read.append(os.path.abspath(path))
        return Path(path).read_text()

    monkeypatch.setattr(workspace_module, "read_text", reading)
    workspace = Workspace(index_policy="off", not_applications=frozenset({str(plain)}))
    project = workspace.project_for(plain)
    assert [app.module for app in project.applications] == ["Shop.Application"]
    assert read == [str(application)]
    workspace = Workspace(index_policy="off", not_applications=frozenset({str(application)}))
    workspace.overlay[str(application)] = application.read_text()  # an open buffer is read
    assert [app.module for app in workspace.project_for(plain).applications] == ["Shop.Application"]


def test_a_type_named_in_a_typespec_is_no_call() -> None:
    """``@spec status() :: Shop.Updates.status()`` and ``@type`` fields name types: the module
    calls ``Shop.Updates`` once, in its body."""
    text = (
        "defmodule Shop.Link do\n"
        "  @type state :: %{status: Shop.Updates.status()}\n"
        "  @spec status() :: Shop.Updates.status()\n"
        "  def status, do: Shop.Updates.status()\n\n"
        "  defmodule State do\n"
        "    @type t :: %__MODULE__{status: Shop.Updates.status()}\n"
        "    defstruct status: :idle\n"
        "  end\nend\n"
    )
    calls = _summary(text).calls
    assert [(c.caller, c.target, c.function) for c in calls] == [
        ("Shop.Link", "Shop.Updates", "status")
    ]


def test_a_library_under_a_dependencys_namespace_owns_only_its_own_prefix() -> None:
    """`Oban.Met` and `Oban.Met.*` use `Oban.Registry`, which the `oban` dependency starts:
    the tool cannot tell, so it does not say the name is never started."""
    index = _index(
        {
            "lib/met.ex": "defmodule Oban.Met do\nend\n",
            "lib/met/recorder.ex": "defmodule Oban.Met.Recorder do\nend\n",
        }
    )
    assert index.facts.names.is_started("registry", "Oban.Registry") is None
    assert index.facts.names.is_started("registry", "Oban.Met.Missing") is False


def test_an_app_without_a_module_of_its_namespaces_name_owns_the_namespace() -> None:
    index = _index(
        {
            "lib/app.ex": "defmodule Shop.Application do\nend\n",
            "lib/shop/repo.ex": "defmodule Shop.Repo do\nend\n",
        }
    )
    assert index.facts.names.is_started("task_supervisor", "Shop.TaskSupervisor") is False


SCHEMES = """defmodule Shop.Schemes do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)
  def get(key), do: GenServer.call(__MODULE__, {:get, key})
  def all, do: GenServer.call(__MODULE__, :all)
  def update(key, value), do: GenServer.call(__MODULE__, {:update, key, value})
  def init(schemes), do: {:ok, schemes}
  def handle_call({:get, key}, _from, s), do: {:reply, Map.get(s, key), s}
  def handle_call(:all, _from, s), do: {:reply, s, s}
  def handle_call({:update, key, value}, _from, s), do: {:reply, :ok, Map.put(s, key, value)}
end
"""


def test_otp002_counts_the_modules_asking_for_the_reads_not_the_writers(tmp_path: Path) -> None:
    """A module that only writes is among the server's callers, not among those the read-only
    calls are asked for by: the message names what asks for the reads, as OTP106 does."""
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    readers = {
        f"lib/r{n}.ex": f"defmodule Shop.R{n} do\n  def f, do: Shop.Schemes.get(:a)\nend\n"
        for n in range(HOT_PATH_MODULES)
    }
    writer = "defmodule Shop.Admin do\n  def f, do: Shop.Schemes.update(:a, 1)\nend\n"
    for path, text in {"lib/schemes.ex": SCHEMES, "lib/admin.ex": writer, **readers}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, "utf-8")
    rule = find_rule("OTP002")
    assert rule is not None
    source = Source(SCHEMES, str(tmp_path / "lib" / "schemes.ex"))
    [finding] = analyze(source, project=scan(tmp_path), rules=[rule])
    assert f"asked for by {HOT_PATH_MODULES} modules (Shop.R0, Shop.R1, Shop.R2" in finding.message
    assert "Shop.Admin" not in finding.message


def test_call_sites_know_which_arguments_are_constants() -> None:
    summary = _summary(
        "defmodule Shop.Web do\n"
        '  @board "main"\n'
        "  def a(url), do: Shop.Boards.start(@board, url: url)\n"
        "  def b(id), do: Shop.Boards.start(id, :later)\n"
        "  def c(id), do: id |> Shop.Boards.start(:fast)\n"
        "end\n"
    )
    assert [call.constants for call in summary.calls] == [(0,), (1,), (1,)]


def test_a_dynamic_start_knows_where_its_values_come_from() -> None:
    summary = _summary(
        "defmodule Shop.Boards do\n"
        "  def start(board_id, opts \\\\ []) do\n"
        "    DynamicSupervisor.start_child(__MODULE__, {Shop.Board, Keyword.put(opts, :id, board_id)})\n"
        "  end\n"
        "  def restart(board_id), do: start(board_id)\n"
        "end\n"
    )
    [start] = summary.supervision.dynamic_starts
    assert dict(zip(start.entities, start.entity_parameters, strict=True)) == {
        "opts": 1,
        "board_id": 0,
    }
    assert start.called_locally  # restart/1 calls it: no call site records that
