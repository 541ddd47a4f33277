"""The model's function effects: what blocks, what acts outside the process, which public
functions of a file block (and through which helpers), and how the index carries that across
files to OTP003 and OTP002."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from otp_thinking.engine import analyze
from otp_thinking.index import ProjectIndex
from otp_thinking.model.effects import OUTSIDE, acts_outside, blocking_call, module_candidates
from otp_thinking.model.summary import summarize
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source


def _effects(code: str) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    text = textwrap.dedent(code)
    summary = summarize(Source(text, "lib/x.ex"), "lib/x.ex")
    return {f"{e.module}.{e.function}/{e.arity}": (e.call, e.kind, e.via) for e in summary.effects}


@pytest.mark.parametrize(
    ("module", "function", "kind"),
    [
        ("Repo", "all", "db"),
        ("MyApp.ReadRepo", "get_by!", "db"),
        ("Req", "get!", "http"),
        ("File", "read!", "file"),
        (":dets", "open_file", "file"),
        (":gen_tcp", "connect", "connect"),
        (":gen_tcp", "recv", "socket"),
        ("GenServer", "call", "call"),
        ("Task", "await_many", "await"),
        ("Process", "sleep", "sleep"),
        (":rpc", "call", "rpc"),
        ("System", "cmd", "cmd"),
        (":mnesia", "wait_for_tables", "db"),
        ("HTTPotion", "get", "http"),
        ("Socket.TCP", "connect!", "connect"),
        (":gun", "await_up", "connect"),
    ],
)
def test_blocking_calls_have_a_kind(module: str, function: str, kind: str) -> None:
    found = blocking_call(module, function)
    assert found is not None and found.kind == kind and found.name == f"{module}.{function}"


@pytest.mark.parametrize(
    ("module", "function"),
    [
        ("Repo", "changeset"),
        ("Enum", "map"),
        ("GenServer", "cast"),
        ("Reporter", "all"),
        (":gun", "open"),  # returns at once: the connection comes up in the gun process
    ],
)
def test_other_calls_do_not_block(module: str, function: str) -> None:
    assert blocking_call(module, function) is None


def test_acting_outside_the_process() -> None:
    assert acts_outside(":ets", "insert")
    assert acts_outside("MyApp.Cache", "put")
    assert acts_outside("Phoenix.PubSub", "broadcast")
    assert acts_outside(":eldap", "search")  # LDAP over the network
    assert acts_outside(":avro_schema_store", "new")  # an Erlang library the tool does not know
    assert not acts_outside(":lists", "reverse")
    assert not acts_outside("Application", "get_env")
    assert not acts_outside("Enum", "map")
    assert not acts_outside(":erlang", "phash2")


def test_public_functions_that_block_directly_and_through_helpers() -> None:
    effects = _effects(
        """\
        defmodule Shop.Accounts do
          alias Shop.Repo

          def load(id), do: fetch(id)
          def list, do: Repo.all(Shop.Account)
          def names, do: Enum.map(list(), & &1.name)
          def pure(x), do: x + 1

          defp fetch(id), do: id |> query() |> Repo.one()
          defp query(id), do: id
        end
        """
    )
    assert effects == {
        "Shop.Accounts.load/1": ("Repo.one", "db", ("fetch",)),
        "Shop.Accounts.list/0": ("Repo.all", "db", ()),
        "Shop.Accounts.names/0": ("Repo.all", "db", ("list",)),
    }


def test_work_that_runs_later_does_not_block_but_work_waited_for_does() -> None:
    effects = _effects(
        """\
        defmodule Shop.Jobs do
          def later(x), do: Task.start(fn -> Shop.Repo.all(x) end)
          def handler, do: :telemetry.attach("h", [:a], fn _, _, _, _ -> Req.get!("u") end, nil)
          def now(xs), do: Enum.map(xs, fn x -> Shop.Repo.get(Shop.A, x) end)
          def streamed(xs), do: xs |> Task.async_stream(&Req.get!/1) |> Enum.to_list()

          def awaited(xs) do
            xs |> Enum.map(&Task.async(fn -> Req.get!(&1) end)) |> Task.await_many()
          end
        end
        """
    )
    assert effects["Shop.Jobs.later/1"] == ("Task.start", OUTSIDE, ())  # starts, never waits
    assert set(effects) == {
        "Shop.Jobs.later/1",
        "Shop.Jobs.now/1",
        "Shop.Jobs.streamed/1",
        "Shop.Jobs.awaited/1",
        "Shop.Jobs.handler/0",
    }
    assert effects["Shop.Jobs.now/1"][0] == "Shop.Repo.get"
    assert effects["Shop.Jobs.handler/0"][1] == OUTSIDE  # :telemetry.attach itself


def test_acting_outside_is_kept_when_nothing_blocks_and_followed_through_helpers() -> None:
    effects = _effects(
        """\
        defmodule Shop.Stats do
          def bump(key), do: :ets.update_counter(:stats, key, 1, {key, 0})
          def read(key), do: lookup(key)
          defp lookup(key), do: :ets.lookup(:stats, key)
        end
        """
    )
    assert effects == {
        "Shop.Stats.bump/1": (":ets.update_counter", OUTSIDE, ()),
        "Shop.Stats.read/1": (":ets.lookup", OUTSIDE, ("lookup",)),
    }


def test_each_module_of_a_file_keeps_its_own_functions() -> None:
    effects = _effects(
        """\
        defmodule Shop.A do
          def run, do: helper()
          defp helper, do: Process.sleep(10)

          defmodule Inner do
            def helper, do: :ok
            def wait, do: GenServer.call(Shop.A, :x)
          end
        end

        defmodule Shop.B do
          def run, do: helper()
          defp helper, do: :ok
        end
        """
    )
    assert effects == {
        "Shop.A.run/0": ("Process.sleep", "sleep", ("helper",)),
        "Shop.A.Inner.wait/0": ("GenServer.call", "call", ()),
    }


def test_a_half_written_buffer_keeps_the_functions_that_parse() -> None:
    effects = _effects(
        """\
        defmodule Shop.Half do
          def load(id), do: Shop.Repo.get(Shop.A, id)

          def other(x) do
            x |>
          end
        end
        """
    )
    assert effects == {"Shop.Half.load/1": ("Shop.Repo.get", "db", ())}
    typing = _effects(
        """\
        defmodule Shop.Done do
          def load(id), do: Shop.Repo.get(Shop.A, id)
        end

        defmodule Shop.Typing do
          def sleepy do
            Process.sleep(
        """
    )
    assert typing == {"Shop.Done.load/1": ("Shop.Repo.get", "db", ())}


def test_the_index_answers_across_files(tmp_path: Path) -> None:
    index = ProjectIndex()
    for path, text in {
        "lib/accounts.ex": "defmodule Shop.Accounts do\n  def load, do: Shop.Repo.all(Shop.A)\nend\n",
        "lib/other.ex": "defmodule Shop.Other do\n  def go, do: :ok\nend\n",
    }.items():
        index.update(summarize(Source(text, path), path))
    effect = index.facts.effect("Shop.Accounts", "load")
    assert effect is not None and effect.label == "Shop.Accounts.load/0"
    assert index.facts.effect("Shop.Other", "go") is None
    before = index.generation
    changed = "defmodule Shop.Accounts do\n  def load, do: []\nend\n"
    assert index.update(summarize(Source(changed, "lib/accounts.ex"), "lib/accounts.ex"))
    assert index.generation > before and index.facts.effect("Shop.Accounts", "load") is None


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n")
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return tmp_path


def _messages(root: Path, path: str, code: str) -> list[str]:
    rule = find_rule(code)
    assert rule is not None
    source = Source((root / path).read_text(), str(root / path))
    return [f.message for f in analyze(source, project=scan(root), rules=[rule])]


def test_otp003_names_the_chain_into_another_module(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/accounts.ex": """\
                defmodule Shop.Accounts do
                  alias Shop.Repo
                  def load(opts), do: fetch(opts)
                  defp fetch(opts), do: Repo.all(opts[:schema])
                end
                """,
            "lib/shop/server.ex": """\
                defmodule Shop.Server do
                  use GenServer
                  alias Shop.Accounts

                  def init(opts), do: {:ok, warm(opts)}

                  defp warm(opts), do: Accounts.load(opts)
                end
                """,
        },
    )
    [message] = _messages(root, "lib/shop/server.ex", "OTP003")
    assert message.startswith(
        "init/1 calls warm, which calls Accounts.load/1, which blocks on Repo.all "
        "(through fetch), so whoever starts this process"
    )


def test_otp003_names_the_request_not_a_file_read_before_it_in_another_module(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/kube.ex": """\
                defmodule Shop.Kube do
                  def nodes(config) do
                    token = File.read!(config.token_path)
                    list(config.url, token)
                  end

                  defp list(url, token), do: Req.get!(url, auth: {:bearer, token}).body
                end
                """,
            "lib/shop/poll.ex": """\
                defmodule Shop.Poll do
                  use GenServer

                  def init(config), do: {:ok, %{nodes: Shop.Kube.nodes(config)}}
                end
                """,
        },
    )
    rule = find_rule("OTP003")
    assert rule is not None
    source = Source((root / "lib/shop/poll.ex").read_text(), str(root / "lib/shop/poll.ex"))
    [finding] = analyze(source, project=scan(root), rules=[rule])
    assert finding.severity == "warning"
    assert finding.message.startswith(
        "init/1 calls Shop.Kube.nodes/1, which blocks on Req.get! (through list),"
    )


def test_otp002_does_not_count_a_call_that_writes_through_another_module(
    tmp_path: Path,
) -> None:
    store = """\
        defmodule Shop.Store do
          use GenServer
          def start_link(_), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)
          def get(k), do: GenServer.call(__MODULE__, {:get, k})
          def all, do: GenServer.call(__MODULE__, :all)
          def reset, do: GenServer.call(__MODULE__, :reset)
          def init(s), do: {:ok, s}
          def handle_call({:get, k}, _from, s), do: {:reply, Map.get(s, k), s}
          def handle_call(:all, _from, s), do: {:reply, Map.values(s), s}
          def handle_call(:reset, _from, s), do: {:reply, Shop.Stats.reset(s.id), s}
        end
        """
    stats = """\
        defmodule Shop.Stats do
          def reset(id), do: :ets.delete(:stats, id)
        end
        """
    cart = """\
        defmodule Shop.Cart do
          def price(sku), do: Shop.Store.get(sku)
        end
        """
    files = {"lib/shop/store.ex": store, "lib/shop/stats.ex": stats, "lib/shop/cart.ex": cart}
    root = _project(tmp_path, files)
    [message] = _messages(root, "lib/shop/store.ex", "OTP002")
    assert "(:get, :all)" in message


@pytest.mark.parametrize(
    ("body", "severity"),
    [
        ("{:ok, Req.get!(opts[:url])}", "warning"),
        ("{:ok, :rpc.call(opts[:node], Shop.Remote, :state, [])}", "warning"),
        ("{:ok, Shop.Repo.all(Shop.A)}", "information"),
        ("{:ok, File.read!(opts[:path])}", None),
        ("{:ok, File.open!(opts[:device], [:read])}", None),
        ("{:ok, :inet_res.lookup(opts[:host], :in, :a)}", "information"),
        ("{:ok, Node.connect(opts[:node])}", "information"),
        ("{:ok, GenServer.call(Shop.Config, :get)}", None),
        ("{:ok, File.stream!(opts[:path])}", None),
        (
            "case :gen_tcp.connect(opts[:host], 80, []) do\n"
            "      {:ok, socket} -> {:ok, socket}\n"
            "      {:error, reason} -> {:stop, reason}\n"
            "    end",
            None,
        ),
    ],
)
def test_otp003_severity_follows_what_blocks(body: str, severity: str | None) -> None:
    text = f"defmodule Shop.S do\n  use GenServer\n\n  def init(opts) do\n    {body}\n  end\nend\n"
    rule = find_rule("OTP003")
    assert rule is not None
    findings = analyze(Source(text, "lib/shop/s.ex"), rules=[rule])
    assert [f.severity for f in findings] == ([severity] if severity else [])


def test_cli_runs_index_rules_on_a_file_outside_any_project(tmp_path: Path) -> None:
    from test_cli import run

    (tmp_path / "server.ex").write_text(
        "defmodule Loose do\n  use GenServer\n  def init(_), do: {:ok, Req.get!(Loose.url())}\nend\n"
    )
    done = run("check", "server.ex", "--select", "OTP003", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "OTP003 init/1 blocks on Req.get!" in done.stdout


# -- calls between project modules, followed across files ----------------------------------


def _calls(code: str) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    text = textwrap.dedent(code)
    summary = summarize(Source(text, "lib/x.ex"), "lib/x.ex")
    found: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for c in summary.function_calls:
        found.setdefault(c.label, []).append((c.target, c.target_function, c.via))
    return found


def test_public_functions_record_the_project_calls_they_make_now() -> None:
    calls = _calls(
        """\
        defmodule Shop.Orders do
          alias Shop.Billing.Gateway
          alias Shop.Stock, as: Inventory

          def place(order) do
            Inventory.reserve(order.items)
            prepare(order)
          end

          def later(order), do: Task.start(fn -> Gateway.charge(order) end)
          def listed(orders), do: Enum.map(orders, &Gateway.charge/1)
          def plain(order), do: Enum.count(order.items) + String.length(order.id)
          def own(order), do: __MODULE__.plain(order)

          defp prepare(order), do: order |> Gateway.charge()
        end
        """
    )
    assert calls == {
        "Shop.Orders.place/1": [
            ("Shop.Stock", "reserve", ()),
            ("Shop.Billing.Gateway", "charge", ("prepare",)),
        ],
        "Shop.Orders.listed/1": [("Shop.Billing.Gateway", "charge", ())],
    }


def test_starting_the_module_s_own_process_calls_its_init() -> None:
    calls = _calls(
        """\
        defmodule Shop.Link do
          use GenServer
          def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)
          def start(opts), do: :gen_server.start({:local, :link}, Shop.Link, opts, [])
          def start_other(opts), do: GenServer.start_link(Shop.Other, opts)
          def start_later(opts), do: Task.start(fn -> GenServer.start(__MODULE__, opts) end)
          def init(opts), do: {:ok, opts}
        end
        """
    )
    assert calls == {
        "Shop.Link.start_link/1": [("Shop.Link", "init", ())],
        "Shop.Link.start/1": [("Shop.Link", "init", ())],
    }


def test_otp003_follows_a_start_into_the_started_process_init(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/client.ex": """\
                defmodule Shop.Client do
                  use GenServer
                  def start_link(opts), do: GenServer.start_link(__MODULE__, opts)
                  def init(opts), do: {:ok, Shop.Socket.open(opts)}
                end
                """,
            "lib/shop/socket.ex": """\
                defmodule Shop.Socket do
                  def open(opts), do: :gen_tcp.connect(opts[:host], opts[:port], [])
                end
                """,
            "lib/shop/consumer.ex": """\
                defmodule Shop.Consumer do
                  use GenServer
                  def init(opts) do
                    {:ok, client} = Shop.Client.start_link(opts)
                    {:ok, %{client: client}}
                  end
                end
                """,
            "lib/shop/lazy.ex": """\
                defmodule Shop.Lazy do
                  use GenServer
                  def init(opts), do: {:ok, opts, {:continue, :connect}}
                  def handle_continue(:connect, opts) do
                    {:ok, client} = Shop.Client.start_link(opts)
                    {:noreply, %{client: client}}
                  end
                end
                """,
        },
    )
    [message] = _messages(root, "lib/shop/consumer.ex", "OTP003")
    assert message.startswith(
        "init/1 calls Shop.Client.start_link/1, which blocks on :gen_tcp.connect (through "
        "Shop.Client.init/1, Shop.Socket.open/1), so whoever starts"
    )
    assert _messages(root, "lib/shop/lazy.ex", "OTP003") == []


def test_a_delegated_function_calls_its_target() -> None:
    calls = _calls(
        """\
        defmodule Shop.Auth do
          defdelegate refresh(tokens), to: __MODULE__.Refresh
          defdelegate revoke(tokens, reason), to: Shop.Auth.Revoke, as: :run
          defdelegate [], to: Nowhere
        end
        """
    )
    assert calls == {
        "Shop.Auth.refresh/1": [("Shop.Auth.Refresh", "refresh", ())],
        "Shop.Auth.revoke/2": [("Shop.Auth.Revoke", "run", ())],
    }


def test_a_call_to_an_imported_function_goes_to_the_imported_module() -> None:
    calls = _calls(
        """\
        defmodule Shop.Auth.Refresh do
          import Shop.Auth.Http, only: [post: 2]
          import Shop.Auth.Codes

          def refresh(tokens), do: post("/token", tokens) |> decode()
          def local(tokens), do: sign(tokens)
          def checked(tokens), do: if(is_map(tokens), do: inspect(tokens))

          defp sign(tokens), do: tokens
        end

        defmodule Shop.Auth.Query do
          import Ecto.Query
          def recent(q), do: from(x in q, where: x.id == 1)
        end
        """
    )
    assert calls == {
        "Shop.Auth.Refresh.refresh/1": [
            ("Shop.Auth.Http", "post", ()),
            ("Shop.Auth.Codes", "decode", ()),
        ],
    }


def _index(files: dict[str, str]) -> ProjectIndex:
    index = ProjectIndex()
    for path, text in files.items():
        index.update(summarize(Source(textwrap.dedent(text), path), path))
    index.complete = True
    return index


def test_the_project_follows_blocking_work_several_modules_away() -> None:
    index = _index(
        {
            "lib/auth.ex": """\
                defmodule Shop.Auth do
                  defdelegate refresh(tokens), to: Shop.Auth.Refresh
                  def post(url, body), do: send_it(url, body)
                  defp send_it(url, body), do: Req.post!(url, json: body)
                end
                """,
            "lib/refresh.ex": """\
                defmodule Shop.Auth.Refresh do
                  import Shop.Auth, only: [post: 2]
                  def refresh(tokens), do: exchange(tokens)
                  defp exchange(tokens), do: post("/token", tokens)
                end
                """,
        }
    )
    reached = index.facts.reach("Shop.Auth", "refresh", frozenset({"http"}))
    assert reached is not None
    assert (reached.call, reached.kind) == ("Req.post!", "http")
    assert reached.through == (
        "Shop.Auth.Refresh.refresh/1",
        "exchange",
        "Shop.Auth.post/2",
        "send_it",
    )
    assert index.facts.reach("Shop.Auth", "refresh", frozenset({"db"})) is None
    assert index.facts.effect("Shop.Auth", "refresh") is None  # one module's own effects only


def test_following_calls_stops_at_cycles_and_after_a_few_modules() -> None:
    chain = {
        f"lib/m{i}.ex": f"defmodule Shop.M{i} do\n  def go, do: Shop.M{i + 1}.go()\nend\n"
        for i in range(6)
    }
    chain["lib/m6.ex"] = "defmodule Shop.M6 do\n  def go, do: Shop.Repo.all(Shop.A)\nend\n"
    chain["lib/a.ex"] = "defmodule Shop.A do\n  def go, do: Shop.B.go()\nend\n"
    chain["lib/b.ex"] = "defmodule Shop.B do\n  def go, do: Shop.A.go()\nend\n"
    index = _index(chain)
    assert index.facts.reach("Shop.M3", "go") is not None  # M4, M5, M6
    assert index.facts.reach("Shop.M0", "go") is None  # too far to be sure of the path
    assert index.facts.reach("Shop.A", "go") is None


def test_a_function_kept_as_a_value_is_not_run() -> None:
    effects = _effects(
        """\
        defmodule Shop.Fetching do
          def configured(opts), do: Keyword.get(opts, :fetch, &Req.get!/1)
          def defaulted(opts), do: Map.get(opts, :load, fn -> Shop.Repo.all(Shop.A) end)
          def updated(counts), do: Map.update(counts, :a, 0, fn _ -> Shop.Repo.aggregate(Shop.A, :count) end)
        end
        """
    )
    assert set(effects) == {"Shop.Fetching.updated/1"}
    calls = _calls(
        """\
        defmodule Shop.Reader do
          def start(opts), do: %{fetch: Keyword.get(opts, :fetch, &Shop.Remote.fetch/2)}
          def run(opts), do: Keyword.update(opts, :rows, [], &Shop.Remote.rows/1)
        end
        """
    )
    assert calls == {"Shop.Reader.run/1": [("Shop.Remote", "rows", ())]}


def test_calls_of_a_half_written_buffer_keep_what_parses() -> None:
    calls = _calls(
        """\
        defmodule Shop.Done do
          import Shop.Helpers
          defdelegate fetch(id)
          defdelegate
          def load(id), do: Shop.Store.read(id)
        end

        defmodule Shop.Typing do
          def other(x) do
            x |> Shop.Store.
        """
    )
    assert calls == {"Shop.Done.load/1": [("Shop.Store", "read", ())]}


def test_otp003_names_a_chain_through_a_delegate_and_an_import(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/vendor.ex": """\
                defmodule Shop.Vendor do
                  defdelegate renew(session), to: Shop.Vendor.Session
                  def request(path, body), do: Req.post!(path, json: body)
                end
                """,
            "lib/shop/vendor/session.ex": """\
                defmodule Shop.Vendor.Session do
                  import Shop.Vendor, only: [request: 2]
                  def renew(session), do: exchange(session.token)
                  defp exchange(token), do: request("/token", %{token: token})
                end
                """,
            "lib/shop/api.ex": """\
                defmodule Shop.Api do
                  use GenServer
                  def init(session), do: {:ok, Shop.Vendor.renew(session)}
                end
                """,
        },
    )
    [message] = _messages(root, "lib/shop/api.ex", "OTP003")
    assert message.startswith(
        "init/1 calls Shop.Vendor.renew/1, which blocks on Req.post! (through "
        "Shop.Vendor.Session.renew/1, exchange, Shop.Vendor.request/2), so whoever starts"
    )


_GAME = """\
    defmodule Shop.Game do
      use GenServer

      def init(params), do: {:ok, Map.put(params, :config, Req.get!("http://config/game").body)}
    end
    """


@pytest.mark.parametrize(
    ("starter", "who"),
    [
        (
            """\
            defmodule Shop.Lobby do
              use GenServer

              def init(_), do: {:ok, []}

              def handle_info(:start_game, players) do
                {:ok, _pid} = GenServer.start(Shop.Game, %{players: players})
                {:noreply, []}
              end
            end
            """,
            "so the process that starts it (Shop.Lobby) waits for it",
        ),
        (
            """\
            defmodule Shop.Application do
              use Application

              def start(_type, _args) do
                Supervisor.start_link([{Shop.Game, %{}}], strategy: :one_for_one)
              end
            end
            """,
            "so whoever starts this process (its supervisor) waits for it",
        ),
        (
            """\
            defmodule Shop.Other do
              def nothing, do: :ok
            end
            """,
            "so whoever starts this process waits for it;",
        ),
        (
            """\
            defmodule Shop.Games do
              def start_link(_), do: GenServer.start_link(Shop.Game, %{}, name: Shop.Game)
            end

            defmodule Shop.Application do
              use Application

              def start(_type, _args) do
                Supervisor.start_link([Shop.Games], strategy: :one_for_one)
              end
            end
            """,
            "so whoever starts this process (the supervisor that starts Shop.Games) waits",
        ),
    ],
)
def test_otp003_says_who_waits_for_init(tmp_path: Path, starter: str, who: str) -> None:
    """A server no supervisor starts keeps the process that starts it waiting, not a
    supervisor; when nothing in the project starts it, the message says no more than it knows."""
    root = _project(tmp_path, {"lib/shop/game.ex": _GAME, "lib/shop/starter.ex": starter})
    [message] = _messages(root, "lib/shop/game.ex", "OTP003")
    assert who in message


def _conditional(code: str) -> dict[str, bool]:
    text = textwrap.dedent(code)
    summary = summarize(Source(text, "lib/x.ex"), "lib/x.ex")
    return {f"{e.module}.{e.function}/{e.arity}": e.conditional for e in summary.effects}


def test_an_effect_in_every_run_or_only_in_some_branches() -> None:
    found = _conditional(
        """\
        defmodule Shop.Config do
          def remote(opts) do
            if opts[:remote], do: Req.get!(opts[:url]).body, else: %{}
          end

          def fetched(url) do
            case Req.get!(url) do
              %{status: 200, body: body} -> body
              _ -> %{}
            end
          end

          def retried(url) do
            case Req.get(url) do
              {:ok, response} -> response
              {:error, _} -> Process.sleep(100) && retried(url)
            end
          end

          def cached(key) do
            case :persistent_term.get(key, nil) do
              nil -> load(key)
              found -> found
            end
          end

          def both(url, again?) do
            if again?, do: Process.sleep(10)
            Req.get!(url)
          end

          defp load(key), do: File.read!("priv/#{key}")
        end
        """
    )
    assert found["Shop.Config.remote/1"] is True
    assert found["Shop.Config.fetched/1"] is False
    assert found["Shop.Config.cached/1"] is True  # through a helper called in one branch
    assert found["Shop.Config.both/2"] is False  # its first blocking call is in a branch, not all


def test_otp003_is_silent_when_the_work_another_module_blocks_on_is_in_a_branch(
    tmp_path: Path,
) -> None:
    """``Config.load/1`` fetches only when asked to (``opts[:remote]``): whether the server's
    ``init/1`` waits depends on arguments the tool does not follow, so it stays silent; the
    same load fetching every time is flagged."""
    config = """\
        defmodule Shop.Config do
          def load(opts) do
            if opts[:remote], do: Req.get!(opts[:url]).body, else: %{}
          end

          def fetch(opts), do: Req.get!(opts[:url]).body
        end
        """
    server = """\
        defmodule Shop.Server do
          use GenServer

          def init(opts), do: {:ok, Shop.Config.%s(opts)}
        end
        """
    (tmp_path / "some").mkdir()
    root = _project(
        tmp_path / "some", {"lib/shop/config.ex": config, "lib/shop/server.ex": server % "load"}
    )
    assert _messages(root, "lib/shop/server.ex", "OTP003") == []
    (tmp_path / "every").mkdir()
    root = _project(
        tmp_path / "every", {"lib/shop/config.ex": config, "lib/shop/server.ex": server % "fetch"}
    )
    [message] = _messages(root, "lib/shop/server.ex", "OTP003")
    assert message.startswith("init/1 calls Shop.Config.fetch/1, which blocks on Req.get!")


def test_a_module_written_from_module_is_the_modules_own() -> None:
    """`__MODULE__.Client.users()` in `Air.Service.LDAP` calls `Air.Service.LDAP.Client`."""
    around = (("Air.Service.LDAP", {}), ("Air", {"Repo": "Air.Repo"}))
    assert module_candidates(around, "__MODULE__.Client") == ["Air.Service.LDAP.Client"]
    assert module_candidates(around, "__MODULE__") == []
    assert module_candidates((), "__MODULE__.Client") == []


STARTER = """\
    defmodule Shop.Application do
      use Application

      def start(_type, _args) do
        Supervisor.start_link([Shop.Counts, Shop.Rates], strategy: :one_for_one)
      end
    end
    """


def test_otp003_names_the_work_a_listed_childs_start_link_does_in_its_supervisor(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/application.ex": STARTER,
            "lib/shop/stats.ex": """\
                defmodule Shop.Stats do
                  def total(status), do: Shop.Repo.one(status)
                end
                """,
            "lib/shop/counts.ex": """\
                defmodule Shop.Counts do
                  use GenServer

                  def start_link(_) do
                    total = Shop.Stats.total(:paid)
                    GenServer.start_link(__MODULE__, total, name: __MODULE__)
                  end

                  def init(total), do: {:ok, total}
                end
                """,
            "lib/shop/rates.ex": """\
                defmodule Shop.Rates do
                  use Agent

                  def start_link(_), do: Agent.start_link(fn -> load() end, name: __MODULE__)

                  def load, do: Req.get!("https://rates.example.com").body
                end
                """,
        },
    )
    [counts] = _messages(root, "lib/shop/counts.ex", "OTP003")
    assert counts.startswith(
        "start_link/1 runs in the process that starts this one (its supervisor) and calls "
        "Shop.Stats.total/1, which blocks on Shop.Repo.one before it starts the process: the "
        "supervisor waits for it, and so does every child listed after it;"
    )
    assert counts.endswith("move the work into handle_continue/2 of the process it starts.")
    [rates] = _messages(root, "lib/shop/rates.ex", "OTP003")
    assert rates.startswith(
        "The fn start_link/1 gives to Agent.start_link runs as the Agent's init and calls "
        "load, which blocks on Req.get!: the supervisor waits for it; start the Agent"
    )
    assert "Agent.cast/2" in rates
    (root / "lib/shop/application.ex").write_text(STARTER.replace("Shop.Counts, Shop.Rates", ""))
    assert _messages(root, "lib/shop/counts.ex", "OTP003") == []
    assert _messages(root, "lib/shop/rates.ex", "OTP003") == []


def test_otp003_says_whether_a_start_link_blocks_before_or_after_it_starts(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/application.ex": STARTER,
            "lib/shop/counts.ex": """\
                defmodule Shop.Counts do
                  use Supervisor

                  def start_link(nodes) do
                    {:ok, pid} = Supervisor.start_link(__MODULE__, nodes, name: __MODULE__)
                    Enum.each(nodes, &:rpc.call(&1, __MODULE__, :start_link, [[]]))
                    {:ok, pid}
                  end

                  def init(_), do: Supervisor.init([], strategy: :one_for_one)
                end
                """,
            "lib/shop/rates.ex": """\
                defmodule Shop.Rates do
                  use GenServer

                  def start_link(_), do: GenServer.start_link(__MODULE__, Shop.Repo.all(Shop.Rate))

                  def init(rates), do: {:ok, rates}
                end
                """,
        },
    )
    [counts] = _messages(root, "lib/shop/counts.ex", "OTP003")
    assert "blocks on :rpc.call after it starts the process: the supervisor waits" in counts
    assert counts.endswith(
        "move it out of the start, into a child placed after the processes it needs (a Task "
        "child, or handle_continue/2 of a GenServer child)."
    )
    [rates] = _messages(root, "lib/shop/rates.ex", "OTP003")
    assert (
        "blocks on Shop.Repo.all before it starts the process: the supervisor waits for it;"
        in rates
    )


def test_otp003_names_the_dynamic_supervisor_that_runs_a_start_link(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/carts.ex": """\
                defmodule Shop.Carts do
                  def open(user_id) do
                    DynamicSupervisor.start_child(Shop.CartSupervisor, {Shop.Cart, user_id})
                  end
                end
                """,
            "lib/shop/cart.ex": """\
                defmodule Shop.Cart do
                  use GenServer

                  def start_link(user_id) do
                    items = Shop.Repo.all(Shop.Item)
                    GenServer.start_link(__MODULE__, {user_id, items})
                  end

                  def init(state), do: {:ok, state}
                end
                """,
        },
    )
    [message] = _messages(root, "lib/shop/cart.ex", "OTP003")
    assert message.startswith(
        "start_link/1 runs in the process that starts this one (its DynamicSupervisor) and "
        "blocks on Shop.Repo.all before it starts the process: the DynamicSupervisor waits for "
        "it, and so does every other start on it and the process calling Shop.Carts.open/1;"
    )


def test_otp003_follows_the_arity_called(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "lib/shop/loader.ex": """\
                defmodule Shop.Loader do
                  use GenServer

                  def init(ids) do
                    info("loading")
                    Enum.each(ids, fn id -> load(id) end)
                    {:ok, ids}
                  end

                  defp info(message), do: info(message, [])
                  defp info(message, meta), do: IO.inspect({message, meta})
                  defp info(_message, _meta, _level), do: Shop.Repo.all(Shop.Log)

                  defp load(id), do: Shop.Repo.get(Shop.Item, id)
                end
                """,
        },
    )
    [message] = _messages(root, "lib/shop/loader.ex", "OTP003")
    assert message.startswith("init/1 calls load, which blocks on Shop.Repo.get,")


APPLICATION = """\
    defmodule Shop.Application do
      use Application

      def start(_type, _args) do
        Shop.Geo.prefetch()
        children = [Shop.Repo]
        {BODY}
      end
    end
    """


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        # after the tree has started: the running tree could do it
        (
            "result = Supervisor.start_link(children, strategy: :one_for_one)\n"
            "        Shop.Telemetry.announce(node())\n        result",
            True,
        ),
        (
            "case Supervisor.start_link(children, strategy: :one_for_one) do\n"
            "          {:ok, pid} -> Shop.Telemetry.announce(node()); {:ok, pid}\n"
            "          error -> error\n        end",
            True,
        ),
        # its failure fails the boot on purpose
        (
            "with {:ok, pid} <- Supervisor.start_link(children, strategy: :one_for_one),\n"
            "             :ok <- Shop.Telemetry.announce(node()) do\n"
            "          {:ok, pid}\n        else\n          _ -> {:error, :not_announced}\n        end",
            False,
        ),
        # a database write, not a request to another machine
        (
            "result = Supervisor.start_link(children, strategy: :one_for_one)\n"
            "        Shop.Repo.insert_all(Shop.Boot, [%{node: node()}])\n        result",
            False,
        ),
    ],
)
def test_otp003_application_start_waiting_on_another_machine_after_the_tree(
    tmp_path: Path, body: str, reported: bool
) -> None:
    telemetry = """\
        defmodule Shop.Telemetry do
          def announce(node), do: Req.post!("https://t.example.com/boot", json: %{node: node})
        end
        """
    geo = """\
        defmodule Shop.Geo do
          def prefetch, do: Req.get!("https://geo.example.com/me")
        end
        """
    files = {
        "lib/shop/application.ex": APPLICATION.replace("{BODY}", body),
        "lib/shop/telemetry.ex": telemetry,
        "lib/shop/geo.ex": geo,  # before the tree: the tree may need it, not reported
    }
    root = _project(tmp_path, files)
    messages = _messages(root, "lib/shop/application.ex", "OTP003")
    assert [m for m in messages if "Application.start/2" in m] == messages
    assert bool(messages) is reported
    if reported:
        assert "calls Shop.Telemetry.announce/1, which waits on Req.post!" in messages[0]
