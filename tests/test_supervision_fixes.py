"""Fixes that name or add a Task.Supervisor, Registry or `:pg` scope read the model's children
and names: they never add a second child for a name already started, in any spelling, put a
new child after the infrastructure and before its users, and never into a list chosen at run
time."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

from otp_thinking.engine import analyze
from otp_thinking.findings import apply_edits
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

TASK_START = "def f, do: Task.start(fn -> Shop.Mail.flush() end)"
DYNAMIC_NAME = (
    'def start_link(id), do: GenServer.start_link(__MODULE__, id, name: :"r#{id}")\n'
    'def call(id), do: GenServer.call(:"r#{id}", :x)'
)
LOBBY = "defmodule Shop.Lobby do\n  def open(id), do: Shop.Subject.start_link(id)\nend\n"
"""Starts Shop.Subject for each value it is given: what OTP201 needs to fire there."""


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def write_supervisor(root: Path, module_name: str, argument: str, child: str) -> None:
    """A module ``module_name`` (under ``lib/shop``) whose ``init(argument)`` starts ``child``."""
    file_name = module_name.rsplit(".", 1)[-1]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in file_name).lstrip("_")
    write(
        root,
        f"lib/shop/{snake}.ex",
        f"defmodule {module_name} do\n  use Supervisor\n\n"
        f"  def init({argument}) do\n"
        f"    children = [{child}]\n"
        "    Supervisor.init(children, strategy: :one_for_one)\n  end\nend\n",
    )


def test_a_task_supervisor_started_through_a_wrapper_child_spec_is_used(tmp_path: Path) -> None:
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Jobs.child_spec([])")
    write(
        root,
        "lib/shop/jobs.ex",
        "defmodule Shop.Jobs do\n"
        "  def child_spec(_), do: Task.Supervisor.child_spec(name: __MODULE__)\nend\n",
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert "Task.Supervisor.start_child(Shop.Jobs, fn -> Shop.Mail.flush() end)" in fixed.text
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert all(edit.path is None for edit in fixed.finding.fix.edits)


def test_a_literal_inside_a_computed_name_is_never_the_supervisor_a_fix_calls(
    tmp_path: Path,
) -> None:
    """``name: Shop.Registry.via({site, TaskSupervisor})`` starts one Task.Supervisor per site
    under a via name: ``TaskSupervisor`` is a part of the key, not a process a fix can call."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.SiteSupervisor")
    write_supervisor(
        root,
        "Shop.SiteSupervisor",
        "site",
        "{Task.Supervisor, name: Shop.Registry.via({site, TaskSupervisor})}",
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert (
        "Task.Supervisor.start_child(Shop.TaskSupervisor, fn -> Shop.Mail.flush() end)"
        in fixed.text
    )
    assert "start_child(TaskSupervisor," not in fixed.text


def test_a_supervisor_a_subsystem_starts_is_used_but_the_fix_is_unsafe(tmp_path: Path) -> None:
    """The application starts ``Shop.Sync.Supervisor`` only when configured to: its Task.Supervisor
    may not run where the caller does."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Web")
    write(
        root,
        "lib/shop/sync/supervisor.ex",
        "defmodule Shop.Sync.Supervisor do\n  use Supervisor\n\n"
        "  def init(:ok) do\n"
        "    children = [{Task.Supervisor, name: Shop.Sync.Tasks}]\n"
        "    Supervisor.init(children, strategy: :one_for_all)\n  end\nend\n",
    )
    worker = f"defmodule Shop.Sync.Worker do\n  {TASK_START}\nend\n"
    found = findings(root, "OTP103", worker)
    fix_found = found[0].fix
    assert fix_found is not None and fix_found.safety == "unsafe"
    assert "Shop.Sync.Tasks (the application's own children do not start" in fix_found.title


def test_a_supervisor_a_child_of_the_application_starts_is_named_in_the_note(
    tmp_path: Path,
) -> None:
    """``Shop.Backend``, one of the application's children, starts the Task.Supervisor in its
    own tree: the fix uses it, unsafe because the order across the two trees is not read, and
    its note says who starts it rather than that nothing does."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Backend")
    write(
        root,
        "lib/shop/backend.ex",
        "defmodule Shop.Backend do\n  use Supervisor\n\n"
        "  def init(:ok) do\n"
        "    children = [{Task.Supervisor, name: Shop.Sync.Tasks}, Shop.Sync.Worker]\n"
        "    Supervisor.init(children, strategy: :one_for_one)\n  end\nend\n",
    )
    worker = f"defmodule Shop.Sync.Worker do\n  {TASK_START}\nend\n"
    fix_found = findings(root, "OTP103", worker)[0].fix
    assert fix_found is not None and fix_found.safety == "unsafe"
    assert "Shop.Sync.Tasks (Shop.Backend, one of the application's children, starts" in (
        fix_found.title
    )


def test_a_positional_registry_start_is_used(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "      Shop.Repo,\n      %{id: :names, start: {Registry, :start_link, [:unique, Shop.Names]}}",
    )
    write(root, "lib/shop/lobby.ex", LOBBY)
    fixed = fix(root, "OTP201", module(DYNAMIC_NAME))
    assert "{:via, Registry, {Shop.Names, key}}" in fixed.text
    assert fixed.application is not None and fixed.application.count("Registry") == 1


def test_a_duplicate_keys_registry_of_the_default_name_is_not_started_again(
    tmp_path: Path,
) -> None:
    root = project(
        tmp_path, "      Shop.Repo,\n      {Registry, keys: :duplicate, name: Shop.Registry}"
    )
    write(root, "lib/shop/lobby.ex", LOBBY)
    fixed = fix(root, "OTP201", module(DYNAMIC_NAME))
    assert "{:via, Registry, {Shop.ProcessRegistry, key}}" in fixed.text
    assert fixed.application is not None
    assert "{Registry, keys: :unique, name: Shop.ProcessRegistry}" in fixed.application
    assert fixed.application.count("name: Shop.Registry}") == 1


def test_a_name_started_by_another_kind_of_process_is_not_reused(tmp_path: Path) -> None:
    root = project(tmp_path, "      Shop.Repo,\n      {Shop.Worker, name: Shop.TaskSupervisor}")
    fixed = fix(root, "OTP103", module(TASK_START))
    assert "Task.Supervisor.start_child(Shop.Tasks, fn -> Shop.Mail.flush() end)" in fixed.text
    assert fixed.application is not None
    assert fixed.application.count("name: Shop.TaskSupervisor}") == 1
    assert "{Task.Supervisor, name: Shop.Tasks}" in fixed.application


def test_no_child_added_when_a_task_supervisor_name_cannot_be_read(tmp_path: Path) -> None:
    """The application's own list starts one under a computed name: a second child of the
    same kind could clash with it, so none is added, and the title says what to start."""
    root = project(tmp_path, "      Shop.Repo,\n      {Task.Supervisor, name: Shop.Config.tasks()}")
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert fixed.application is not None and fixed.application.count("Task.Supervisor") == 1
    title = fixed.finding.fix.title
    assert "start {Task.Supervisor, name: Shop.TaskSupervisor}" in title
    assert "names it computes" in title


def test_a_child_is_added_when_only_another_supervisor_computes_task_supervisor_names(
    tmp_path: Path,
) -> None:
    """Per-server Task.Supervisors under computed names, started by another supervisor: the
    application's new one is added (a fix that calls a supervisor nothing starts would exit
    with :noproc), unsafe, and the title says which names the tool could not read."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Servers")
    write_supervisor(
        root, "Shop.ServerSupervisor", "server", "{Task.Supervisor, name: Shop.Names.tasks(server)}"
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert (
        "Task.Supervisor.start_child(Shop.TaskSupervisor, fn -> Shop.Mail.flush() end)"
        in fixed.text
    )
    assert fixed.application is not None
    assert "{Task.Supervisor, name: Shop.TaskSupervisor}" in fixed.application
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "names it computes" in fixed.finding.fix.title


CONDITIONAL_APP = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    children =
      if Application.get_env(:shop, :workers?) do
        [Shop.Repo, Shop.Worker]
      else
        [Shop.Repo]
      end

    Supervisor.start_link(children, strategy: :one_for_one)
  end
end
"""


BRANCHED_START_APP = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    opts = [strategy: :one_for_one]

    if Application.get_env(:shop, :media_only?) do
      Supervisor.start_link([Shop.Media], opts)
    else
      Supervisor.start_link([Shop.Repo, Shop.Worker], opts)
    end
  end
end
"""


@pytest.mark.parametrize("app", [CONDITIONAL_APP, BRANCHED_START_APP])
def test_a_list_chosen_by_a_branch_gets_no_child_and_the_title_says_where(
    tmp_path: Path, app: str
) -> None:
    """A list one branch chooses, or one ``Supervisor.start_link`` of several in branches, is
    used on some starts only: a child added there would be missing on the others, and the
    calls to it would exit with :noproc."""
    root = project(tmp_path, None)
    write(root, "lib/shop/application.ex", app)
    fixed = fix(root, "OTP103", module(TASK_START))
    fix_ = fixed.finding.fix
    assert fix_ is not None and fix_.safety == "unsafe"
    assert fixed.application == app
    assert "Shop.Application.start/2" in fix_.title
    assert "{Task.Supervisor, name: Shop.TaskSupervisor}" in fix_.title


def test_a_supervisor_one_branch_starts_is_used_unsafely_and_the_title_says_so(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, None)
    app = BRANCHED_START_APP.replace(
        "[Shop.Repo, Shop.Worker]", "[Shop.Repo, {Task.Supervisor, name: Shop.TaskSupervisor}]"
    )
    write(root, "lib/shop/application.ex", app)
    fixed = fix(root, "OTP103", module(TASK_START))
    assert (
        "Task.Supervisor.start_child(Shop.TaskSupervisor, fn -> Shop.Mail.flush() end)"
        in fixed.text
    )
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "starts Shop.TaskSupervisor in a children list a branch chooses" in (
        fixed.finding.fix.title
    )
    assert fixed.application == app


def test_a_lone_start_in_a_branch_is_every_boot_that_succeeds(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    app = BRANCHED_START_APP.replace(
        "    if Application.get_env(:shop, :media_only?) do\n"
        "      Supervisor.start_link([Shop.Media], opts)\n"
        "    else\n",
        "    with :ok <- Shop.Release.migrate() do\n",
    )
    write(root, "lib/shop/application.ex", app)
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    assert fixed.application is not None
    assert fixed.application.count("{Task.Supervisor, name: Shop.TaskSupervisor}") == 1


def test_a_child_of_a_conditional_list_is_not_chosen(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    write(
        root,
        "lib/shop/application.ex",
        CONDITIONAL_APP.replace(
            "[Shop.Repo, Shop.Worker]", "[Shop.Repo, {Task.Supervisor, name: Shop.DevTasks}]"
        ),
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert "Shop.DevTasks" not in fixed.text


PHOENIX_CHILDREN = (
    "      ShopWeb.Telemetry,\n      Shop.Repo,\n"
    "      {Phoenix.PubSub, name: Shop.PubSub},\n      {Finch, name: Shop.Finch},\n"
    "      ShopWeb.Endpoint"
)


def test_a_web_module_finds_the_apps_task_supervisor(tmp_path: Path) -> None:
    root = project(tmp_path, "      Shop.Repo,\n      {Task.Supervisor, name: Shop.TaskSupervisor}")
    text = (
        "defmodule ShopWeb.PageLive do\n  def f, do: Task.start(fn -> Shop.Mail.flush() end)\nend\n"
    )
    fixed = fix(root, "OTP103", text)
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor" in fixed.text
    assert fixed.application is not None and fixed.application.count("Task.Supervisor") == 1


def test_an_added_child_goes_after_the_infrastructure_and_before_the_endpoint(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, PHOENIX_CHILDREN)
    text = (
        "defmodule ShopWeb.PageLive do\n  def f, do: Task.start(fn -> Shop.Mail.flush() end)\nend\n"
    )
    fixed = fix(root, "OTP103", text)
    assert fixed.application is not None
    assert (
        "      {Finch, name: Shop.Finch},\n"
        "      {Task.Supervisor, name: Shop.TaskSupervisor},\n"
        "      ShopWeb.Endpoint"
    ) in fixed.application


def test_reusing_a_task_supervisor_started_after_a_caller_that_needs_it_at_boot_is_unsafe(
    tmp_path: Path,
) -> None:
    """The app starts ``Shop.Subject`` before the Task.Supervisor its ``init/1`` would now
    call: the rewrite would make the app fail to boot, so it says what to move."""
    root = project(
        tmp_path, "      Shop.Subject,\n      {Task.Supervisor, name: Shop.TaskSupervisor}"
    )
    text = module("def init(arg) do\n  Task.start(fn -> Shop.Mail.flush() end)\n  {:ok, arg}\nend")
    fixed = fix(root, "OTP103", text)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "before Shop.Subject, which calls it as it starts" in fixed.finding.fix.title
    later = fix(root, "OTP103", module(TASK_START))  # not while it starts: safe
    assert later.finding.fix is not None and later.finding.fix.safety == "safe"


def test_reusing_a_task_supervisor_a_child_reaches_at_boot_through_other_modules_is_unsafe(
    tmp_path: Path,
) -> None:
    """``Shop.Admin.init/1`` calls a helper of its own that calls ``Shop.Utils.run_async/1``,
    where the ``Task.start`` is: once rewritten, the app would call the Task.Supervisor while
    ``Shop.Admin`` starts, before the supervisor itself does."""
    root = project(
        tmp_path,
        "      Shop.Repo,\n      Shop.Admin,\n      {Task.Supervisor, name: Shop.TaskSupervisor}",
    )
    admin = (
        "defmodule Shop.Admin do\n  use GenServer\n\n"
        "  def init(arg) do\n    warm_cache()\n    {:ok, arg}\n  end\n\n"
        "  defp warm_cache, do: Shop.Utils.run_async(fn -> Shop.Cache.fill() end)\nend\n"
    )
    (root / "lib" / "shop" / "admin.ex").write_text(admin, "utf-8")
    utils = "defmodule Shop.Utils do\n  def run_async(fun), do: Task.start(fun)\nend\n"
    fixed = fix(root, "OTP103", utils)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "before Shop.Admin, which calls it as it starts" in fixed.finding.fix.title
    (root / "lib" / "shop" / "admin.ex").write_text(
        admin.replace("    warm_cache()\n", ""), "utf-8"
    )
    later = fix(root, "OTP103", utils)  # nothing reaches it while a child starts: safe
    assert later.finding.fix is not None and later.finding.fix.safety == "safe"


def test_an_added_child_goes_before_its_first_user(tmp_path: Path) -> None:
    root = project(tmp_path, "      Shop.Subject,\n      Shop.Repo")
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.application is not None
    assert (
        "      {Task.Supervisor, name: Shop.TaskSupervisor},\n      Shop.Subject,\n"
        in fixed.application
    )


BOOT_STARTERS = {
    "a server of another module": (
        "defmodule Shop.Pool do\n"
        "  def start_link(arg), do: GenServer.start_link(Shop.Subject, arg)\n"
        "end\n"
    ),
    "another module's start_link": (
        "defmodule Shop.Pool do\n  def start_link(arg), do: Shop.Subject.start_link(arg)\nend\n"
    ),
    "a supervisor of it": (
        "defmodule Shop.Pool do\n"
        "  use Supervisor\n"
        "  def start_link(arg), do: Supervisor.start_link(__MODULE__, arg)\n"
        "  def init(_arg), do: Supervisor.init([Shop.Subject], strategy: :one_for_one)\n"
        "end\n"
    ),
}


@pytest.mark.parametrize("starter", BOOT_STARTERS, ids=list(BOOT_STARTERS))
def test_an_added_child_goes_before_a_child_that_starts_its_user_at_boot(
    tmp_path: Path, starter: str
) -> None:
    """``Shop.Pool`` is no user itself, but starting it runs ``Shop.Subject``'s code: the
    Task.Supervisor goes before it, not after the PubSub that follows it (no ``:noproc``)."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Pool,\n      Shop.PubSub")
    write(root, "lib/shop/pool.ex", BOOT_STARTERS[starter])
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.application is not None
    assert (
        "      Shop.Repo,\n      {Task.Supervisor, name: Shop.TaskSupervisor},\n      Shop.Pool,\n"
    ) in fixed.application


def test_a_child_starting_an_unrelated_server_is_not_a_user(tmp_path: Path) -> None:
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Pool,\n      Shop.PubSub")
    write(
        root,
        "lib/shop/pool.ex",
        "defmodule Shop.Pool do\n"
        "  def start_link(arg), do: GenServer.start_link(Shop.Other, arg)\n"
        "end\n",
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.application is not None
    assert (
        "      Shop.PubSub,\n      {Task.Supervisor, name: Shop.TaskSupervisor}\n"
        in fixed.application
    )


def test_a_child_added_to_the_application_is_unsafe_when_a_second_tree_starts_the_caller(
    tmp_path: Path,
) -> None:
    """``Shop.SDK.Supervisor`` (started by an embedding host, never by the application) also
    supervises ``Shop.Subject``: there the added Task.Supervisor is not running, and the
    rewritten call would exit with ``:noproc``."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Subject")
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
    write_supervisor(root, "Shop.SDK.Supervisor", "_opts", "Shop.Subject")
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "also start it where Shop.SDK.Supervisor runs" in fixed.finding.fix.title
    write(  # the application starts that supervisor too: one tree again
        root,
        "lib/shop/application.ex",
        (root / "lib/shop/application.ex")
        .read_text()
        .replace("Shop.Subject", "Shop.Subject,\n      Shop.SDK.Supervisor"),
    )
    fixed = fix(root, "OTP103", module(TASK_START))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"


def test_the_choice_does_not_depend_on_which_fix_runs_first(tmp_path: Path) -> None:
    """Two callers in different parts of the app: whichever is fixed first, both end up on
    the same supervisor, and the second fix adds nothing."""
    names = []
    for order in (("Shop.Subject", "ShopWeb.Live"), ("ShopWeb.Live", "Shop.Subject")):
        root = project(tmp_path / "-".join(order))
        chosen = []
        for caller in order:
            text = f"defmodule {caller} do\n  def f, do: Task.start(fn -> Shop.Mail.flush() end)\nend\n"
            fixed = fix(root, "OTP103", text)
            assert fixed.application is not None
            (root / "lib/shop/application.ex").write_text(fixed.application, "utf-8")
            chosen.append(fixed.text.split("start_child(")[1].split(",")[0])
        app = (root / "lib/shop/application.ex").read_text("utf-8")
        assert app.count("Task.Supervisor") == 1
        names.append(chosen)
    assert names == [["Shop.TaskSupervisor"] * 2] * 2


def test_the_default_pg_scope_is_not_added_to_each_app_of_an_umbrella(tmp_path: Path) -> None:
    root = tmp_path
    write(root, "mix.exs", "defmodule Umbrella.MixProject do\nend\n")
    for name, namespace in (("a", "A"), ("b", "B")):
        write(
            root,
            f"apps/{name}/lib/{name}/application.ex",
            f"defmodule {namespace}.Application do\n  use Application\n\n  def start(_, _) do\n"
            f"    Supervisor.start_link([{namespace}.Repo], strategy: :one_for_one)\n  end\nend\n",
        )
    path = root / "apps/a/lib/a/groups.ex"
    text = "defmodule A.Groups do\n  def f(g), do: :pg2.join(g, self())\nend\n"
    path.write_text(text, "utf-8")
    from otp_thinking.engine import analyze
    from otp_thinking.project import scan
    from otp_thinking.registry import find_rule
    from otp_thinking.source import Source

    rule = find_rule("OTP301")
    assert rule is not None
    (found,) = analyze(Source(text, str(path)), project=scan(root), rules=[rule])
    assert found.fix is not None and found.fix.safety == "unsafe"
    assert all(edit.path is None for edit in found.fix.edits)
    assert "once" in found.fix.title
    assert ":pg.join(g, self())" in apply_edits(text, found.fix.edits_for(None))


def test_an_existing_pg_scope_started_elsewhere_is_used(tmp_path: Path) -> None:
    root = project(tmp_path)
    write(
        root,
        "lib/shop/groups_sup.ex",
        "defmodule Shop.GroupsSup do\n  def start_link(_), do: :pg.start_link()\nend\n",
    )
    fixed = fix(root, "OTP301", module("def f(g), do: :pg2.join(g, self())"))
    assert fixed.application is not None and ":pg" not in fixed.application
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"


@pytest.mark.parametrize(
    "start",
    [
        "Registry.start_link(:unique, Shop.Names)",
        "Registry.start_link(keys: :unique, name: Shop.Names)",
        "Supervisor.child_spec({Registry, keys: :unique, name: Shop.Names}, id: :names)",
    ],
)
def test_otp105_sees_registries_in_every_spelling(tmp_path: Path, start: str) -> None:
    root = project(tmp_path)
    write(root, "lib/shop/names.ex", f"defmodule Shop.NamesSup do\n  def s, do: {start}\nend\n")
    assert findings(root, "OTP105", module("def f, do: Registry.lookup(Shop.Names, 1)")) == []


def test_otp105_is_silent_when_a_name_of_the_kind_cannot_be_read(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = module("def f, do: Task.Supervisor.async_nolink(Shop.Tasks, fn -> 1 end)")
    assert [f.code for f in findings(root, "OTP105", text)] == ["OTP105"]
    write(
        root,
        "lib/shop/tasks.ex",
        "defmodule Shop.TasksSup do\n"
        "  def s, do: Task.Supervisor.start_link(name: Shop.Config.tasks())\nend\n",
    )
    assert findings(root, "OTP105", text) == []


def test_otp105_is_silent_under_a_module_that_uses_a_dependencys_macro(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = module("def f, do: Registry.lookup(Shop.Events.Registry, 1)")
    assert [f.code for f in findings(root, "OTP105", text)] == ["OTP105"]
    write(root, "lib/shop/events.ex", "defmodule Shop.Events do\n  use EventLib.Bus\nend\n")
    assert findings(root, "OTP105", text) == []
    write(root, "lib/shop/events.ex", "defmodule Shop.Events do\n  use GenServer\nend\n")
    assert [f.code for f in findings(root, "OTP105", text)] == ["OTP105"]


def test_without_an_application_a_nested_module_names_the_outer_namespace() -> None:
    text = (
        "defmodule Shop do\n  defmodule Cart do\n"
        "    def checkout(id), do: Task.start(fn -> IO.puts(id) end)\n  end\nend\n"
    )
    [found] = analyze(Source(text, "lib/shop.ex"), rules=[find_rule("OTP103")])  # type: ignore[list-item]
    assert found.fix is not None
    assert "Shop.TaskSupervisor" in found.fix.title and "Cart.TaskSupervisor" not in found.fix.title


@pytest.mark.parametrize(("dependency", "found"), [("", 1), (', {:shop_core, path: ".."}', 0)])
def test_no_missing_registry_is_reported_where_a_path_dependency_may_start_it(
    tmp_path: Path, dependency: str, found: int
) -> None:
    """A tool built on the library beside it (`{:shop_core, path: ".."}`) uses the library's
    registry: the library's application, outside this project's index, starts it."""
    root = project(tmp_path / "insights")
    mix = (root / "mix.exs").read_text("utf-8")
    (root / "mix.exs").write_text(
        mix.replace("deps: []", f'deps: [{{:jason, "~> 1.4"}}{dependency}]')
    )
    uses = "def listen, do: Registry.register(Shop.Events, :commands, [])"
    assert len(findings(root, "OTP105", module(uses))) == found


BUILT_CHILDREN = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    Supervisor.start_link(children(Application.get_env(:shop, :role)), strategy: :one_for_one)
  end

  def children(:metadata), do: [Shop.Repo]

  def children(role) do
    infrastructure = [Shop.Repo, Shop.Roles.children(role)] |> List.flatten()
    if role == :data, do: infrastructure ++ [Shop.Data], else: infrastructure
  end
end
"""


def test_a_note_on_children_built_at_run_time_does_not_say_they_lack_the_name(
    tmp_path: Path,
) -> None:
    """Some of the application's lists are built at run time: whether they start the
    Task.Supervisor is not known, which the note says, rather than that they do not."""
    root = project(tmp_path, None)
    write(root, "lib/shop/application.ex", BUILT_CHILDREN)
    write_supervisor(
        root, "Shop.Sync.Supervisor", ":ok", "{Task.Supervisor, name: Shop.Sync.Tasks}"
    )
    worker = f"defmodule Shop.Sync.Worker do\n  {TASK_START}\nend\n"
    fix_found = findings(root, "OTP103", worker)[0].fix
    assert fix_found is not None and fix_found.safety == "unsafe"
    assert (
        "Shop.Sync.Tasks (the application's children are built at run time, so whether they"
        " start Shop.Sync.Tasks is not known" in fix_found.title
    )


RESET_TASK = """\
defmodule Mix.Tasks.Shop.Reset do
  use Mix.Task

  def run(_args) do
    {starts}
    Shop.Cleaner.clean_all()
  end
end
"""

CLEANER = "def clean_all, do: clean()\n\ndefp clean, do: Task.start(fn -> Shop.Mail.flush() end)"


@pytest.mark.parametrize(
    ("starts", "safety"),
    [
        ('Mix.Task.run("compile")', "unsafe"),
        ('Mix.Task.run("app.start")', "safe"),
        ("Application.ensure_all_started(:shop)", "safe"),
        ("Application.ensure_all_started(:req)", "unsafe"),
    ],
)
def test_a_fix_in_code_a_mix_task_runs_without_the_app_is_unsafe(
    tmp_path: Path, starts: str, safety: str
) -> None:
    """`mix shop.reset` calls the cleaner without starting the application: the
    Task.Supervisor the fix adds to the tree is not running there, and the fixed call would
    exit with :noproc."""
    root = project(tmp_path)
    write(root, "lib/mix/tasks/shop.reset.ex", RESET_TASK.format(starts=starts))
    text = module(CLEANER).replace("Shop.Subject", "Shop.Cleaner")
    fix_found = findings(root, "OTP103", text)[0].fix
    assert fix_found is not None and fix_found.safety == safety
    told = "(mix shop.reset may run this code without starting the application)"
    assert (told in fix_found.title) == (safety == "unsafe")


def test_a_task_supervisor_kept_as_a_pool_of_its_own_size_is_not_borrowed(tmp_path: Path) -> None:
    """A Task.Supervisor started with max_children is a pool for its own work: its start_child
    can return {:error, :max_children}, which Task.start never does. The fix adds one."""
    root = project(
        tmp_path, "      Shop.Repo,\n      {Task.Supervisor, name: Shop.Previews, max_children: 2}"
    )
    write_supervisor(
        root,
        "Shop.Ingest",
        "_arg",
        "{Task.Supervisor, name: Shop.IngestTasks, max_children: 100}",
    )
    text = (
        "defmodule ShopWeb.PageLive do\n  def f, do: Task.start(fn -> Shop.Mail.flush() end)\nend\n"
    )
    fixed = fix(root, "OTP103", text)
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor" in fixed.text
    assert fixed.application is not None
    assert "{Task.Supervisor, name: Shop.TaskSupervisor}" in fixed.application


PIPED_APPLICATION = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    children =
      [
        Shop.Repo,
        {Phoenix.PubSub, name: Shop.PubSub},
        ShopWeb.Endpoint
      ]
      |> add_consumer(Application.fetch_env!(:shop, :environment))

    Supervisor.start_link(children, strategy: :one_for_one)
  end

  defp add_consumer(children, :test), do: children
  defp add_consumer(children, _env), do: children ++ [Shop.Consumer]
end
"""


@pytest.mark.parametrize(
    ("helper", "added"),
    [
        (
            "  defp add_consumer(children, :test), do: children\n"
            "  defp add_consumer(children, _env), do: children ++ [Shop.Consumer]\n",
            True,
        ),
        (  # a list built anew: where the given one goes is not known
            "  defp add_consumer(children, _env), do: [Shop.Consumer | children]\n",
            False,
        ),
    ],
)
def test_a_children_list_piped_into_a_helper_that_joins_more_after_it_takes_the_new_child(
    tmp_path: Path, helper: str, added: bool
) -> None:
    """`[..] |> add_consumer(env)`, whose every clause returns the list it is given, maybe
    with more after it: the list starts on every boot, so the fix adds the supervisor there,
    before the endpoint."""
    root = project(tmp_path, None)
    app = PIPED_APPLICATION.replace(
        "  defp add_consumer(children, :test), do: children\n"
        "  defp add_consumer(children, _env), do: children ++ [Shop.Consumer]\n",
        helper,
    )
    write(root, "lib/shop/application.ex", app)
    text = (
        "defmodule ShopWeb.PageLive do\n  def f, do: Task.start(fn -> Shop.Mail.flush() end)\nend\n"
    )
    fixed = fix(root, "OTP103", text)
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor" in fixed.text
    if added:
        assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
        assert fixed.application is not None
        assert (
            "        {Phoenix.PubSub, name: Shop.PubSub},\n"
            "        {Task.Supervisor, name: Shop.TaskSupervisor},\n"
            "        ShopWeb.Endpoint\n"
        ) in fixed.application
    else:
        assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
        assert "add {Task.Supervisor, name: Shop.TaskSupervisor}" in fixed.finding.fix.title
