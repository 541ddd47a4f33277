"""OTP003's fix: what init/1 keeps, what moves to handle_continue/2, and when no fix is offered."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fix_helpers import findings, module, project

from conftest import mix_formatted
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding, apply_edits
from otp_thinking.registry import find_rule
from otp_thinking.source import Source


def _findings(code: str) -> tuple[str, list[Finding]]:
    text = textwrap.dedent(code)
    rule = find_rule("OTP003")
    assert rule is not None
    return text, analyze(Source(text, "lib/shop/server.ex"), rules=[rule])


def _fixed(code: str) -> str:
    text, findings = _findings(code)
    assert len(findings) == 1 and findings[0].fix is not None, findings
    assert findings[0].fix.safety == "unsafe"
    return apply_edits(text, findings[0].fix.edits)


def test_moves_the_blocking_work_and_keeps_what_must_stay() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Prices do
          use GenServer

          @impl true
          def init(opts) do
            Phoenix.PubSub.subscribe(Shop.PubSub, "prices")
            # warm the table
            Shop.Repo.all(Shop.Price) |> Enum.each(&:ets.insert(:prices, {&1.sku, &1}))
            Process.send_after(self(), :refresh, 60_000)
            {:ok, %{opts: opts}}
          end
        end
        """
    )
    assert fixed == textwrap.dedent(
        """\
        defmodule Shop.Prices do
          use GenServer

          @impl true
          def init(opts) do
            Phoenix.PubSub.subscribe(Shop.PubSub, "prices")
            {:ok, %{opts: opts}, {:continue, :init}}
          end

          @impl true
          def handle_continue(:init, state) do
            # warm the table
            Shop.Repo.all(Shop.Price) |> Enum.each(&:ets.insert(:prices, {&1.sku, &1}))
            Process.send_after(self(), :refresh, 60_000)

            {:noreply, state}
          end
        end
        """
    )


def test_variables_the_work_needs_travel_in_the_continue_term() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Catalog do
          use GenServer

          def init(opts) do
            path = Keyword.fetch!(opts, :path)
            contents = Shop.Repo.get!(Shop.Entry, path)
            :ets.insert(:catalog, {path, contents})
            {:ok, %{path: path}}
          end
        end
        """
    )
    assert "    {:ok, %{path: path}, {:continue, {:init, path}}}\n" in fixed
    assert "  def handle_continue({:init, path}, state) do\n" in fixed
    assert "@impl" not in fixed


def test_the_state_variable_is_the_continue_parameter() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Rates do
          use GenServer

          def init(state) do
            rates = Req.get!(state.url).body
            state = Map.put(state, :rates, rates)
            {:ok, state}
          end
        end
        """
    )
    assert "    {:ok, state, {:continue, :init}}\n" in fixed
    assert "  def handle_continue(:init, state) do\n" in fixed
    assert "    state = Map.put(state, :rates, rates)\n\n    {:noreply, state}\n" in fixed


def test_new_clause_joins_existing_handle_continue_clauses_with_a_free_tag() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Sync do
          use GenServer

          @impl true
          def init(state) do
            Process.sleep(100)
            {:ok, state}
          end

          @impl true
          def handle_info(:tick, state), do: {:noreply, state}

          @impl true
          def handle_continue(:init, state), do: {:noreply, state}
        end
        """
    )
    assert fixed.index("def handle_continue(:load, state) do") < fixed.index(
        "def handle_continue(:init, state), do:"
    )
    assert fixed.index("def handle_info") < fixed.index("def handle_continue(:load")
    assert "{:ok, state, {:continue, :load}}" in fixed


def test_keeps_crlf_line_endings_and_tabs() -> None:
    lines = ["defmodule A do", "\tuse GenServer", "", "\tdef init(s) do", "\t\t:timer.sleep(5)"]
    code = "\r\n".join([*lines, "\t\t{:ok, s}", "\tend", "end", ""])
    rule = find_rule("OTP003")
    assert rule is not None
    (finding,) = analyze(Source(code, "lib/a.ex"), rules=[rule])
    assert finding.fix is not None
    fixed = apply_edits(code, finding.fix.edits)
    assert "\n" not in fixed.replace("\r\n", "")
    assert "\tdef handle_continue(:init, s) do\r\n\t\t:timer.sleep(5)\r\n" in fixed


def _message(code: str) -> str:
    _, findings = _findings(code)
    assert len(findings) == 1 and findings[0].fix is None
    return findings[0].message


def test_the_state_built_from_the_blocking_work_moves_with_it() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Loaded do
          use GenServer

          @impl true
          def init(path) do
            Process.flag(:trap_exit, true)
            table = :ets.new(:prices, [:named_table])
            prices = Shop.Repo.get!(Shop.Entry, path) |> String.split("\\n")
            :ok = Phoenix.PubSub.subscribe(Shop.PubSub, "prices")
            count = length(prices)
            {:ok, %{table: table, prices: prices, count: count}}
          end

          @impl true
          def handle_continue(:refresh, state), do: {:noreply, state}
        end
        """
    )
    assert fixed == textwrap.dedent(
        """\
        defmodule Shop.Loaded do
          use GenServer

          @impl true
          def init(path) do
            Process.flag(:trap_exit, true)
            table = :ets.new(:prices, [:named_table])
            :ok = Phoenix.PubSub.subscribe(Shop.PubSub, "prices")
            {:ok, nil, {:continue, {:init, path, table}}}
          end

          @impl true
          def handle_continue({:init, path, table}, _state) do
            prices = Shop.Repo.get!(Shop.Entry, path) |> String.split("\\n")
            count = length(prices)

            {:noreply, %{table: table, prices: prices, count: count}}
          end

          @impl true
          def handle_continue(:refresh, state), do: {:noreply, state}
        end
        """
    )


def test_work_after_the_blocking_call_keeps_its_place_after_it() -> None:
    """The pings follow the sleep: kept in `init/1` because the state needs them, they would
    run before it. They move with it, and the state with them."""
    fixed = _fixed(
        """\
        defmodule Shop.Discovery do
          use GenServer

          def init(nodes) do
            Process.sleep(1_000)
            pinged = for node <- nodes, do: Shop.Peer.ping(node)
            {:ok, %{pinged: pinged}}
          end
        end
        """
    )
    assert fixed == textwrap.dedent(
        """\
        defmodule Shop.Discovery do
          use GenServer

          def init(nodes) do
            {:ok, nil, {:continue, {:init, nodes}}}
          end

          def handle_continue({:init, nodes}, _state) do
            Process.sleep(1_000)
            pinged = for node <- nodes, do: Shop.Peer.ping(node)

            {:noreply, %{pinged: pinged}}
          end
        end
        """
    )


def test_a_state_with_the_blocking_call_in_it_moves_whole() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Loaded do
          use GenServer

          def init(_opts) do
            {:ok, %{prices: Shop.Repo.all(Shop.Price)}}
          end
        end
        """
    )
    assert "def init(_opts) do\n    {:ok, nil, {:continue, :init}}\n  end" in fixed
    assert (
        "def handle_continue(:init, _state) do\n"
        "    {:noreply, %{prices: Shop.Repo.all(Shop.Price)}}\n  end"
    ) in fixed


def test_no_fix_when_what_must_stay_needs_the_blocking_work() -> None:
    message = _message(
        """\
        defmodule Shop.Loaded do
          use GenServer

          def init(_opts) do
            key = Shop.Repo.one(Shop.Key)
            Registry.register(Shop.Registry, key, nil)
            {:ok, %{key: key}}
          end
        end
        """
    )
    assert "no automatic fix: the blocking work is mixed with calls that must stay" in message


def test_a_timer_started_from_the_moved_work_moves_with_it() -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Sync do
          use GenServer

          def init(state) do
            start = Shop.Repo.get_by(Shop.Check, type: "deposit")
            schedule_sync(start)
            {:ok, state}
          end

          defp schedule_sync(from), do: Process.send_after(self(), {:sync, from}, 5_000)
        end
        """
    )
    assert "def init(state) do\n    {:ok, state, {:continue, :init}}\n  end" in fixed
    assert (
        "def handle_continue(:init, state) do\n"
        '    start = Shop.Repo.get_by(Shop.Check, type: "deposit")\n'
        "    schedule_sync(start)\n\n"
        "    {:noreply, state}\n  end"
    ) in fixed


def test_the_title_asks_to_update_a_spec_of_init() -> None:
    code = """\
        defmodule Shop.Specced do
          use GenServer

          @impl true
          @spec init(any) :: {:ok, any}
          def init(state) do
            Shop.Repo.all(Shop.Price)
            {:ok, state}
          end
        end
        """
    [finding] = _findings(code)[1]
    assert finding.fix is not None
    assert finding.fix.title.endswith(
        "; update the @spec of init/1 for the {:continue, _} it now returns"
    )
    assert (
        "@spec"
        not in _findings(code.replace("@spec init(any) :: {:ok, any}\n", ""))[1][0].fix.title
    )


def test_no_fix_when_init_returns_something_else() -> None:
    message = _message(
        """\
        defmodule Shop.Connect do
          use GenServer

          def init(opts) do
            case Req.get!(opts[:url]) do
              %{status: 200, body: body} -> {:ok, body}
              _ -> {:ok, nil, :hibernate}
            end
          end
        end
        """
    )
    assert "no automatic fix: init/1 ends in a case, not with one {:ok, state}" in message


def test_no_fix_when_init_already_continues_and_the_message_says_where_the_work_goes() -> None:
    message = _message(
        """\
        defmodule Shop.Nodes do
          use GenServer

          def init(project) do
            true = Node.connect(project.node)
            {:ok, project, {:continue, :elect}}
          end

          def handle_continue(:elect, project), do: {:noreply, project}
        end
        """
    )
    assert (
        "no automatic fix: init/1 already ends with {:continue, :elect}: move the work to the "
        "start of that handle_continue/2"
    ) in message


def test_no_fix_when_a_later_statement_rebinds_what_the_work_uses() -> None:
    message = _message(
        """\
        defmodule Shop.Rebind do
          use GenServer

          def init(opts) do
            Shop.Repo.get!(Shop.Entry, opts[:path])
            opts = Keyword.put(opts, :loaded, true)
            Registry.register(Shop.Registry, {:go, opts}, nil)
            {:ok, %{}}
          end
        end
        """
    )
    assert "no automatic fix: a statement after the blocking work rebinds" in message


def test_follows_local_helpers_and_names_them() -> None:
    message = _message(
        """\
        defmodule Shop.Helper do
          use GenServer

          def init(opts), do: {:ok, load(opts)}

          defp load(opts), do: opts |> read() |> parse()
          defp read(opts), do: Shop.Repo.get!(Shop.Entry, opts[:path])
          defp parse(text), do: text
        end
        """
    )
    assert message.startswith(
        "init/1 calls load, which calls read, which blocks on Shop.Repo.get!,"
    )


def test_gen_statem_gets_no_fix_and_the_internal_event_advice() -> None:
    message = _message(
        """\
        defmodule Shop.Machine do
          @behaviour :gen_statem

          def init(path) do
            data = Shop.Repo.get!(Shop.Entry, path)
            {:ok, :idle, data}
          end
        end
        """
    )
    assert "{:next_event, :internal, ...}" in message
    assert ":gen_statem has no handle_continue/2" in message


def test_gen_stage_gets_no_fix_and_the_message_to_itself_advice() -> None:
    """A GenStage stage's start_link waits for init/1 as a GenServer's does; it has no
    handle_continue/2, so the advice is a message to itself."""
    message = _message(
        """\
        defmodule Shop.Feed do
          use GenStage

          def init(name) do
            paused = Redix.command!(:redix, ["GET", name])
            {:producer, %{paused: paused}}
          end
        end
        """
    )
    assert "send(self(), :init)" in message and "handle_info/2" in message
    assert "GenStage has no handle_continue/2" in message


@pytest.mark.parametrize(
    "failure",
    [
        'nil -> raise "no configuration for #{tenant}"',
        "nil -> {:stop, :no_configuration}",
        "nil -> {:error, :no_configuration}",
    ],
)
def test_work_that_fails_the_start_on_purpose_is_not_reported(failure: str) -> None:
    _, findings = _findings(
        f"""\
        defmodule Shop.Pool do
          use GenServer

          def init(tenant) do
            case Shop.Repo.get_by(Shop.Tenant, name: tenant) do
              {failure}
              config -> {{:ok, config}}
            end
          end
        end
        """
    )
    assert findings == []


def test_a_stop_before_the_work_is_no_contract_about_it() -> None:
    _, findings = _findings(
        """\
        defmodule Shop.Pool do
          use GenServer

          def init(tenant) do
            if tenant == nil do
              {:stop, :no_tenant}
            else
              {:ok, Shop.Repo.get_by(Shop.Tenant, name: tenant)}
            end
          end
        end
        """
    )
    assert [f.severity for f in findings] == ["information"]


@pytest.mark.parametrize(
    ("work", "severity"),
    [
        ("Req.get!(opts[:url]).body", "warning"),
        (":rpc.call(opts[:node], Shop.Config, :fetch, [])", "warning"),
        ("Shop.Repo.insert(%Shop.Pool{tenant: opts[:tenant]})", "information"),
    ],
)
def test_a_remote_wait_is_a_warning_and_a_database_load_information(
    work: str, severity: str
) -> None:
    _, findings = _findings(
        f"""\
        defmodule Shop.Pool do
          use GenServer

          def init(opts) do
            config = {work}
            {{:ok, config}}
          end
        end
        """
    )
    assert [f.severity for f in findings] == [severity]


def test_a_boot_write_whose_result_is_dropped_is_not_reported() -> None:
    _, findings = _findings(
        """\
        defmodule Shop.Sweeper do
          use GenServer

          def init(opts) do
            Shop.Repo.update_all(Shop.Job, set: [state: "available"])
            {:ok, opts}
          end
        end
        """
    )
    assert findings == []


def test_the_warning_names_the_slow_work_not_a_quick_read_before_it() -> None:
    _, findings = _findings(
        """\
        defmodule Shop.Rates do
          use GenServer

          def init(path) do
            key = File.read!(path)
            rates = Req.get!("https://rates.example", auth: key).body
            {:ok, rates}
          end
        end
        """
    )
    assert [f.severity for f in findings] == ["warning"]
    assert findings[0].message.startswith("init/1 blocks on Req.get!,")
    assert findings[0].fix is not None


MANY = ["catalog", "supplier", "currency", "warehouse", "region", "channel", "ledger", "audit"]


def test_a_long_continue_term_is_laid_out_as_mix_format_does(elixir: None) -> None:
    fixed = _fixed(
        f"""\
        defmodule Shop.Wide do
          use GenServer

          @impl true
          def init({{{", ".join(MANY)}}}) do
            prices = Shop.Repo.all(Shop.Price)
            Shop.Audit.log(prices, [{", ".join(MANY[:4])}])
            Shop.Audit.log(prices, [{", ".join(MANY[4:])}])
            {{:ok, %{{prices: prices}}}}
          end
        end
        """
    )
    assert max(len(line) for line in fixed.splitlines()) <= 98
    assert fixed == mix_formatted(fixed)


def test_a_state_over_several_lines_becomes_one_line_nil(elixir: None) -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Tall do
          use GenServer

          @impl true
          def init(opts) do
            prices = Shop.Repo.all(Shop.Price)

            {:ok,
             %{
               prices: prices,
               opts: opts
             }}
          end
        end
        """
    )
    assert "    {:ok, nil, {:continue, {:init, opts}}}\n" in fixed
    assert fixed == mix_formatted(fixed)


def test_names_the_wait_on_a_store_not_a_file_listing_before_it() -> None:
    _, findings = _findings(
        """\
        defmodule Shop.Scripts do
          use GenServer

          def init(conn) do
            names = File.ls!("priv/scripts")
            shas = Enum.map(names, &Redix.command!(conn, ["SCRIPT", "LOAD", &1]))
            {:ok, %{conn: conn, shas: shas}}
          end
        end
        """
    )
    [finding] = findings
    assert finding.severity == "information"
    assert finding.message.startswith("init/1 blocks on Redix.command!,")


def test_local_file_work_alone_is_not_reported() -> None:
    _, findings = _findings(
        """\
        defmodule Shop.Settings do
          use GenServer

          def init(path), do: {:ok, path |> File.read!() |> :erlang.binary_to_term()}
        end

        defmodule Shop.Usage do
          use GenServer

          def init(_opts) do
            {:ok, device} = File.open(~c"/proc/loadavg", [:read])
            {:ok, %{device: device}}
          end
        end
        """
    )
    assert findings == []  # a local file: quick, and a start that cannot read it should fail


def test_the_result_after_a_kept_statement_of_several_lines_gets_its_blank_line(
    elixir: None,
) -> None:
    fixed = _fixed(
        """\
        defmodule Shop.Usage do
          use GenServer

          @impl true
          def init(_opts) do
            device = Shop.Repo.get!(Shop.Device, :loadavg)
            start = System.monotonic_time(:millisecond)

            _ =
              Registry.register(Shop.Registry, :usage, [
                {:started, start}
              ])

            _ = :erlang.process_flag(:priority, :high)
            {:ok, %{device: device, next_report: start}}
          end
        end
        """
    )
    assert "      ])\n\n    {:ok, nil, {:continue," in fixed
    assert fixed == mix_formatted(fixed)


STREAMS = """\
defmodule Shop.Streams do
  def open(id), do: DynamicSupervisor.start_child(Shop.StreamSupervisor, {Shop.StreamServer, id})
end
"""
STREAM_SERVER = """\
use GenServer, restart: :temporary

def start_link(id), do: GenServer.start_link(__MODULE__, id)

def init(id) do
  stream = Shop.Repo.get!(Shop.Stream, id)
  {:ok, %{stream: stream}}
end"""


@pytest.mark.parametrize("started_at_boot", [False, True])
def test_a_temporary_server_started_per_entity_is_no_boot_step(
    tmp_path: Path, started_at_boot: bool
) -> None:
    """`restart: :temporary` marks a step of the boot only where a children list starts it;
    started by `DynamicSupervisor.start_child`, its `init/1` holds up every start."""
    root = project(
        tmp_path, "      Shop.Repo" + (",\n      Shop.Subject" if started_at_boot else "")
    )
    (root / "lib" / "shop" / "streams.ex").write_text(
        STREAMS.replace("Shop.StreamServer", "Shop.Subject"), "utf-8"
    )
    found = findings(root, "OTP003", module(STREAM_SERVER))
    if started_at_boot:
        assert found == []
        return
    (finding,) = found
    assert (
        "so the DynamicSupervisor Shop.StreamSupervisor waits for it, and with it every other "
        "start on that supervisor and the process calling Shop.Streams.open/1" in finding.message
    )


SERVER_WITH_HTTP = """\
defmodule Shop.Subject do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)

  def init(url) do
    {:ok, response} = HTTPoison.get(url)
    {:ok, response.body}
  end
end
"""


@pytest.mark.parametrize(
    ("requirement", "note"),
    [
        (
            '"~> 1.6"',
            "; handle_continue/2 needs Erlang/OTP 21, and mix.exs admits Elixir 1.6, which "
            "runs on older releases",
        ),
        (
            '">= 1.9.0 and < 2.0.0"',
            "; handle_continue/2 needs Erlang/OTP 21, and mix.exs "
            "admits Elixir 1.9, which runs on older releases",
        ),
        ('"~> 1.10"', ""),
    ],
)
def test_the_title_says_when_mix_exs_admits_an_elixir_older_than_handle_continue(
    tmp_path: Path, requirement: str, note: str
) -> None:
    """Elixir 1.10 is the first to require OTP 21, where `handle_continue/2` came in: on an
    older release the moved init/1 would return a value the server cannot take."""
    root = project(tmp_path)
    (root / "mix.exs").write_text(
        f"defmodule Shop.MixProject do\n  def project, do: [app: :shop, elixir: {requirement}]\nend\n",
        "utf-8",
    )
    found = findings(root, "OTP003", SERVER_WITH_HTTP)
    assert len(found) == 1 and found[0].fix is not None
    assert found[0].fix.title == (
        "Move the blocking work and the state it builds into handle_continue/2 (review: init/1 "
        "now returns a nil state, the processes started after this one no longer wait for the "
        "work, and a failure crashes the running server)" + note
    )
