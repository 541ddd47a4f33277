"""OTP201: what fires, and the text of the module-wide via_tuple/1 fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import APPLICATION, findings, fix, module, project

from conftest import mix_formatted
from otp_thinking.config import from_mapping
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding
from otp_thinking.fixing import fix_files
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace

REGISTRY = "      {Registry, keys: :unique, name: Shop.Names},\n      Shop.Repo"
VIA = "\ndefp via_tuple(key), do: {:via, Registry, {Shop.Names, key}}"
NAMER = 'def start_link(id), do: GenServer.start_link(__MODULE__, id, name: :"r#{id}")'
"""The module names its own processes with such atoms: OTP201 speaks of modules that do."""
NAMED = 'def start_link(id), do: GenServer.start_link(__MODULE__, id, name: via_tuple("r#{id}"))'
LOBBY = """\
defmodule Shop.Lobby do
  use GenServer

  def handle_call({:open, id}, _from, state), do: {:reply, {module}.start_link(id), state}
end
"""


def add(root: Path, name: str, text: str) -> Path:
    """The project with ``lib/shop/<name>`` holding ``text``."""
    (root / "lib" / "shop" / name).write_text(text, "utf-8")
    return root


def started(root: Path, module: str = "Shop.Subject") -> Path:
    """The project, with a server that starts ``module`` for each request it gets: the
    evidence OTP201 needs that the names are one per value, not one per configured instance."""
    return add(root, "lobby.ex", LOBBY.replace("{module}", module))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "def start_link(id), do: GenServer.start_link(__MODULE__, id, "
            'name: String.to_atom("room_" <> id))',
            "def start_link(id), do: GenServer.start_link(__MODULE__, id, "
            'name: via_tuple("room_" <> id))',
        ),
        (
            'def call(id), do: GenServer.call(:"room_#{id}", :ping)',
            'def call(id), do: GenServer.call(via_tuple("room_#{id}"), :ping)',
        ),
        (
            'def get(id), do: Agent.get(List.to_atom(~c"room_" ++ id), & &1)',
            'def get(id), do: Agent.get(via_tuple(List.to_string(~c"room_" ++ id)), & &1)',
        ),
        (
            "def get(id), do: Agent.get(:erlang.binary_to_atom(id, :utf8), & &1)",
            "def get(id), do: Agent.get(via_tuple(id), & &1)",
        ),
        (
            'def stop(id), do: GenServer.stop(Module.concat(Rooms, "Room#{id}"))',
            'def stop(id), do: GenServer.stop(via_tuple([Rooms, "Room#{id}"]))',
        ),
        (
            "def alive?(id), do: Process.whereis(String.to_atom(id)) != nil",
            "def alive?(id), do: GenServer.whereis(via_tuple(id)) != nil",
        ),
        (
            "def ping(id), do: send(String.to_atom(id), :ping)",
            "def ping(id), do: send(GenServer.whereis(via_tuple(id)), :ping)",
        ),
        (
            "def ping(id), do: id |> String.to_atom() |> GenServer.cast(:ping)",
            "def ping(id), do: via_tuple(id) |> GenServer.cast(:ping)",
        ),
        (
            'def start_link(id) do\n  name = String.to_atom("room_" <> id)\n'
            "  {:ok, pid} = GenServer.start_link(__MODULE__, id, name: name)\n"
            "  send(name, :hello)\n  {:ok, pid}\nend",
            'def start_link(id) do\n  name = via_tuple("room_" <> id)\n'
            "  {:ok, pid} = GenServer.start_link(__MODULE__, id, name: name)\n"
            "  send(GenServer.whereis(name), :hello)\n  {:ok, pid}\nend",
        ),
    ],
)
def test_fix_text(tmp_path: Path, before: str, after: str) -> None:
    if "start_link" not in before:  # a module that only reaches such names: give it one
        before, after = f"{before}\n{NAMER}", f"{after}\n{NAMED}"
    fixed = fix(started(project(tmp_path, REGISTRY)), "OTP201", module(before))
    assert fixed.text == module(after + "\n" + VIA)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert fixed.application is not None and fixed.application.count("Registry") == 1


def test_a_key_over_several_lines_is_laid_out_as_mix_format_does(
    tmp_path: Path, elixir: None
) -> None:
    """``via_tuple(`` opens a line and the pipeline moves two columns right: the fixed file
    stays formatted (scout_apm's watcher was left unformatted)."""
    before = (
        "def start_link(mod) do\n  name =\n    mod\n    |> Atom.to_string()\n"
        '    |> Kernel.<>(".Watcher")\n    |> String.to_atom()\n\n'
        "  GenServer.start_link(__MODULE__, mod, name: name)\nend"
    )
    fixed = fix(started(project(tmp_path, REGISTRY)), "OTP201", module(before))
    assert (
        "    name =\n      via_tuple(\n        mod\n        |> Atom.to_string()\n"
        '        |> Kernel.<>(".Watcher")\n      )\n'
    ) in fixed.text
    assert fixed.text == mix_formatted(fixed.text)


def test_every_site_of_the_module_in_one_fix_and_fix_all_is_stable(tmp_path: Path) -> None:
    root = started(project(tmp_path, REGISTRY))
    before = module(
        "def start_link(id), do: GenServer.start_link(__MODULE__, id, name: name(id))\n"
        "def get(id), do: id |> name() |> GenServer.call(:get)\n"
        'def put(id, v), do: GenServer.cast(:"room_#{id}", {:put, v})\n'
        'defp name(id), do: String.to_atom("room_#{id}")'
    )
    after = module(
        "def start_link(id), do: GenServer.start_link(__MODULE__, id, name: name(id))\n"
        "def get(id), do: id |> name() |> GenServer.call(:get)\n"
        'def put(id, v), do: GenServer.cast(via_tuple("room_#{id}"), {:put, v})\n'
        'defp name(id), do: via_tuple("room_#{id}")\n' + VIA
    )
    found = findings(root, "OTP201", before)
    assert len(found) == 2 and found[0].fix == found[1].fix
    assert fix(root, "OTP201", before).text == after
    path = root / "lib" / "shop" / "subject.ex"
    rule = find_rule("OTP201")

    def fixed() -> str:
        workspace = Workspace()

        def run(name: str, text: str) -> list:  # type: ignore[type-arg]
            project = workspace.project_for(name)
            return analyze(Source(text, name), project=project, rules=[rule])  # type: ignore[list-item]

        fix_files(workspace, [str(path)], run, unsafe=True)
        return workspace.read(path) or ""

    path.write_text(before, "utf-8")
    assert fixed() == after
    path.write_text(after, "utf-8")
    assert fixed() == after


def test_adds_the_registry_when_the_app_has_none(tmp_path: Path) -> None:
    fixed = fix(
        started(project(tmp_path)),
        "OTP201",
        module(f'def call(id), do: GenServer.call(:"r#{{id}}", :x)\n{NAMER}'),
    )
    assert fixed.application is not None
    assert (
        "      Shop.Repo,\n      {Registry, keys: :unique, name: Shop.Registry}"
        in fixed.application
    )
    assert "defp via_tuple(key), do: {:via, Registry, {Shop.Registry, key}}" in fixed.text


@pytest.mark.parametrize(
    ("children", "chosen"),
    [
        # a list-form unique registry; duplicate-keys ones are skipped
        (
            "      {Registry, keys: :duplicate, name: Shop.PubSub},\n"
            "      {Registry, [keys: :unique, name: Shop.Names]}",
            "Shop.Names",
        ),
        # of several, the one of the caller's namespace (Shop.Subject)
        (
            "      {Registry, keys: :unique, name: Shop.Analytics.Names},\n"
            "      {Registry, keys: :unique, name: Shop.Names},\n"
            "      {Registry, keys: :unique, name: Shop.Subject.Names}",
            "Shop.Subject.Names",
        ),
    ],
)
def test_uses_an_existing_unique_registry(tmp_path: Path, children: str, chosen: str) -> None:
    fixed = fix(
        started(project(tmp_path, children)),
        "OTP201",
        module(f'def c(id), do: GenServer.call(:"r#{{id}}", :x)\n{NAMER}'),
    )
    assert f"{{:via, Registry, {{{chosen}, key}}}}" in fixed.text
    assert fixed.application == APPLICATION.format(children=children)


def test_configured_registry_wins(tmp_path: Path) -> None:
    config, _ = from_mapping({"names": {"registry": "Shop.Configured"}})
    text = module(f'def c(id), do: GenServer.call(:"r#{{id}}", :x)\n{NAMER}')
    fixed = fix(started(project(tmp_path)), "OTP201", text, config=config)
    assert "{Shop.Configured, key}" in fixed.text
    assert fixed.application is not None and "Registry" not in fixed.application


def test_reuses_the_module_via_tuple(tmp_path: Path) -> None:
    before = module(
        f'def c(id), do: GenServer.call(:"r#{{id}}", :x)\n{NAMER}\n'
        "defp via_tuple(id), do: {:via, Registry, {Shop.Other, id}}"
    )
    fixed = fix(started(project(tmp_path)), "OTP201", before)
    assert fixed.text == before.replace(':"r#{id}"', 'via_tuple("r#{id}")')
    assert fixed.application is not None and "Registry" not in fixed.application


def test_nested_module_gets_its_own_indented_via_tuple(tmp_path: Path) -> None:
    before = (
        "defmodule Shop.Outer do\n"
        "  defmodule Inner do\n"
        '    def c(id), do: GenServer.call(:"r#{id}", :x)\n'
        f"    {NAMER}\n"
        "  end\n"
        "end\n"
    )
    after = (
        "defmodule Shop.Outer do\n"
        "  defmodule Inner do\n"
        '    def c(id), do: GenServer.call(via_tuple("r#{id}"), :x)\n'
        f"    {NAMED}\n"
        "\n"
        "    defp via_tuple(key), do: {:via, Registry, {Shop.Names, key}}\n"
        "  end\n"
        "end\n"
    )
    root = started(project(tmp_path, REGISTRY), "Shop.Outer.Inner")
    assert fix(root, "OTP201", before).text == after


@pytest.mark.parametrize(
    "code",
    [
        "def f(id), do: Process.register(self(), String.to_atom(id))",
        "def f(id), do: DynamicSupervisor.start_child(S, {W, name: String.to_atom(id)})",
        "def f(id) do\n  name = String.to_atom(id)\n"
        "  GenServer.call(name, :x)\n  :ets.new(name, [])\nend",
    ],
)
def test_no_fix_when_a_site_cannot_move(tmp_path: Path, code: str) -> None:
    text = module(code + '\ndef g(id), do: GenServer.call(:"r#{id}", :x)\n' + NAMER)
    found = findings(started(project(tmp_path)), "OTP201", text)
    assert len(found) == 3 and all(f.fix is None for f in found)


@pytest.mark.parametrize(
    "code",
    [
        'def f(name), do: Supervisor.start_link([], name: :"#{name}_sup", strategy: :one_for_one)',
        'def f(opts), do: GenServer.call(Module.concat(opts[:name], "Server"), :x)',
        "def f(endpoint, handler), do: GenServer.call(Module.concat(endpoint, handler), :x)",
        'def f(scope), do: GenServer.call(:"#{scope}_forum", :x)',
        "def f(id), do: GenServer.call(String.to_existing_atom(id), :x)",
        'def f, do: GenServer.call(:"#{@prefix}_x", :x)',
        "def f, do: GenServer.call(Module.concat(__MODULE__, Worker), :x)",
        'def f, do: GenServer.call(String.to_atom("worker\\n" <> @suffix), :x)',
        'def f, do: GenServer.call(List.to_atom(~c"worker_" ++ ~c"#{1}"), :x)',
        "def f(id), do: %{name: String.to_atom(id)}",
        "def f(id), do: Map.put(%{}, String.to_atom(id), 1)",
        "def f(id) do\n  name = String.to_atom(id)\n"
        "  name = {:global, name}\n  GenServer.call(name, :x)\nend",
    ],
)
def test_near_misses_stay_silent(tmp_path: Path, code: str) -> None:
    assert findings(started(project(tmp_path)), "OTP201", module(code)) == []


def test_silent_in_tests(tmp_path: Path) -> None:
    root = project(tmp_path)
    test_file = root / "test" / "room_test.exs"
    test_file.parent.mkdir()
    text = module('test "x" do\n  GenServer.call(:"room_#{System.unique_integer()}", :x)\nend')
    rule = find_rule("OTP201")
    assert rule is not None
    assert analyze(Source(text, str(test_file)), project=scan(root), rules=[rule]) == []


ROOM = 'def start_link(id), do: GenServer.start_link(__MODULE__, id, name: :"room_#{id}")'


def test_silent_when_nothing_shows_the_names_are_one_per_value(tmp_path: Path) -> None:
    """Started by nothing in the project, or only at boot (a supervisor's or the
    application's children, a server's ``init/1``): one name per configured instance."""
    root = project(tmp_path, "      Shop.Repo,\n      {Shop.Subject, 1}")
    add(
        root,
        "shards.ex",
        "defmodule Shop.Shards do\n  use Supervisor\n\n"
        "  def init(_), do: Supervisor.init(for(i <- 1..4, do: {Shop.Subject, i}), [])\n\n"
        "  def add(i), do: Shop.Subject.start_link(i)\nend\n"
        "defmodule Shop.Boot do\n  use GenServer\n\n"
        "  def init(i), do: {:ok, Shop.Subject.start_link(i)}\n\n"
        "  def handle_continue(i, s), do: {:noreply, [Shop.Subject.start_link(i) | s]}\n\n"
        "  def init_shards(i), do: Shop.Subject.start_link(i)\nend\n",
    )
    assert findings(root, "OTP201", module(ROOM)) == []


def _silent_until_called(root: Path, code: str, name: str, caller: str) -> Finding:
    """Silent on ``code`` until ``caller`` (written to ``lib/shop/<name>``) calls it per
    request; then its one finding."""
    assert findings(root, "OTP201", module(code)) == []
    [found] = findings(add(root, name, caller), "OTP201", module(code))
    return found


def test_a_supervisor_function_counts_through_its_caller(tmp_path: Path) -> None:
    """``RoomSupervisor.open/1`` starts a room per call, but supervisors also start their
    children at boot: it counts when a request handler calls it."""
    root = add(
        project(tmp_path),
        "room_supervisor.ex",
        "defmodule Shop.RoomSupervisor do\n  use DynamicSupervisor\n\n"
        "  def open(id), do: DynamicSupervisor.start_child(__MODULE__, {Shop.Subject, id})\n"
        "end\n",
    )
    channel = (
        "defmodule Shop.RoomChannel do\n"
        "  def join(id, _params, socket), do: {:ok, Shop.RoomSupervisor.open(id), socket}\nend\n"
    )
    found = _silent_until_called(root, ROOM, "room_channel.ex", channel)
    assert (
        "and Shop.RoomChannel.join/3 (through Shop.RoomSupervisor.open/1) starts Shop.Subject "
        "processes while the application runs, one for each value;" in found.message
    )


def test_the_message_names_the_starter(tmp_path: Path) -> None:
    [found] = findings(started(project(tmp_path)), "OTP201", module(ROOM))
    assert found.message.startswith(
        "This interpolated atom makes a new atom for every distinct `id` and uses it as the "
        "name: of GenServer.start_link, and Shop.Lobby.handle_call/3 starts Shop.Subject "
        "processes while the application runs, one for each value; atoms are never "
    )


@pytest.mark.parametrize(
    "code",
    [
        'def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: :"c#{UUID.uuid4()}")',
        "def start_link(_) do\n  id = System.unique_integer([:positive])\n"
        '  GenServer.start_link(__MODULE__, id, name: String.to_atom("c#{id}"))\nend',
    ],
)
def test_a_fresh_value_alone_is_no_evidence(tmp_path: Path, code: str) -> None:
    """A new atom per start, but how often the module starts (once per Mix task run, per
    dev-only backend) is what bounds the leak, and nothing here shows it."""
    assert findings(project(tmp_path), "OTP201", module(code)) == []
    assert len(findings(started(project(tmp_path / "on_demand")), "OTP201", module(code))) == 1


def test_a_start_in_a_function_other_modules_call_per_request(tmp_path: Path) -> None:
    """The atom names a process of another module, started where the atom is made, in a
    function a server calls for each request."""
    code = "def open(s, id), do: DynamicSupervisor.start_child(s, {W, name: String.to_atom(id)})"
    lobby = (
        "defmodule Shop.Lobby do\n  use GenServer\n\n"
        "  def handle_call({:open, id}, _from, s), do: {:reply, Shop.Subject.open(s, id), s}\n"
        "end\n"
    )
    found = _silent_until_called(project(tmp_path), code, "lobby.ex", lobby)
    assert (
        ", and Shop.Lobby.handle_call/3 calls Shop.Subject.open, which starts a process under "
        "such a name, while the application runs;" in found.message
    )


def test_silent_where_the_module_only_reaches_names_made_elsewhere(tmp_path: Path) -> None:
    """A trader started per request casts to `:"leader_#{symbol}"`, which the leader's module
    registers: how many leaders there are is not in the trader."""
    code = 'def buy(symbol), do: GenServer.cast(:"leader_#{symbol}", :buy)'
    assert findings(started(project(tmp_path)), "OTP201", module(code)) == []
    assert (
        len(findings(started(project(tmp_path / "named")), "OTP201", module(f"{code}\n{NAMER}")))
        == 2
    )
