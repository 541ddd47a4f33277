"""OTP201: what fires, and the text of the module-wide via_tuple/1 fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import APPLICATION, findings, fix, module, project

from conftest import mix_formatted
from otp_thinking.config import from_mapping
from otp_thinking.engine import analyze
from otp_thinking.fixing import fix_files
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace

REGISTRY = "      {Registry, keys: :unique, name: Shop.Names},\n      Shop.Repo"
VIA = "\ndefp via_tuple(key), do: {:via, Registry, {Shop.Names, key}}"


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
    fixed = fix(project(tmp_path, REGISTRY), "OTP201", module(before))
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
    fixed = fix(project(tmp_path, REGISTRY), "OTP201", module(before))
    assert (
        "    name =\n      via_tuple(\n        mod\n        |> Atom.to_string()\n"
        '        |> Kernel.<>(".Watcher")\n      )\n'
    ) in fixed.text
    assert fixed.text == mix_formatted(fixed.text)


def test_every_site_of_the_module_in_one_fix_and_fix_all_is_stable(tmp_path: Path) -> None:
    root = project(tmp_path, REGISTRY)
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
        project(tmp_path), "OTP201", module('def call(id), do: GenServer.call(:"r#{id}", :x)')
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
        project(tmp_path, children),
        "OTP201",
        module('def c(id), do: GenServer.call(:"r#{id}", :x)'),
    )
    assert f"{{:via, Registry, {{{chosen}, key}}}}" in fixed.text
    assert fixed.application == APPLICATION.format(children=children)


def test_configured_registry_wins(tmp_path: Path) -> None:
    config, _ = from_mapping({"names": {"registry": "Shop.Configured"}})
    text = module('def c(id), do: GenServer.call(:"r#{id}", :x)')
    fixed = fix(project(tmp_path), "OTP201", text, config=config)
    assert "{Shop.Configured, key}" in fixed.text
    assert fixed.application is not None and "Registry" not in fixed.application


def test_reuses_the_module_via_tuple(tmp_path: Path) -> None:
    before = module(
        'def c(id), do: GenServer.call(:"r#{id}", :x)\n'
        "defp via_tuple(id), do: {:via, Registry, {Shop.Other, id}}"
    )
    fixed = fix(project(tmp_path), "OTP201", before)
    assert fixed.text == before.replace(':"r#{id}"', 'via_tuple("r#{id}")')
    assert fixed.application is not None and "Registry" not in fixed.application


def test_nested_module_gets_its_own_indented_via_tuple(tmp_path: Path) -> None:
    before = (
        "defmodule Shop.Outer do\n"
        "  defmodule Inner do\n"
        '    def c(id), do: GenServer.call(:"r#{id}", :x)\n'
        "  end\n"
        "end\n"
    )
    after = (
        "defmodule Shop.Outer do\n"
        "  defmodule Inner do\n"
        '    def c(id), do: GenServer.call(via_tuple("r#{id}"), :x)\n'
        "\n"
        "    defp via_tuple(key), do: {:via, Registry, {Shop.Names, key}}\n"
        "  end\n"
        "end\n"
    )
    assert fix(project(tmp_path, REGISTRY), "OTP201", before).text == after


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
    text = module(code + '\ndef g(id), do: GenServer.call(:"r#{id}", :x)')
    found = findings(project(tmp_path), "OTP201", text)
    assert len(found) == 2 and all(f.fix is None for f in found)


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
    assert findings(project(tmp_path), "OTP201", module(code)) == []


def test_silent_in_tests(tmp_path: Path) -> None:
    root = project(tmp_path)
    test_file = root / "test" / "room_test.exs"
    test_file.parent.mkdir()
    text = module('test "x" do\n  GenServer.call(:"room_#{System.unique_integer()}", :x)\nend')
    rule = find_rule("OTP201")
    assert rule is not None
    assert analyze(Source(text, str(test_file)), project=scan(root), rules=[rule]) == []
