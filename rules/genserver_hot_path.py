"""OTP106 genserver-hot-path: a GenServer that many modules of the project reach through
`GenServer.call`, reported on the GenServer with every call site as related information."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import callbacks, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules
from otp_thinking.model.callers import HOT_PATH_MODULES
from otp_thinking.model.summary import CallSite
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A `use GenServer` module that HOT_PATH_MODULES or more other modules of the project call
through `GenServer.call`: directly (`GenServer.call(MyApp.Cache, msg)`, or on the name it
registers with `name:`), or through its client functions — public functions of any module whose
body makes that call, or calls a private function that makes it. The diagnostic sits on the
module's name and lists every call site as related information.

Not flagged: servers addressed by pid or by a computed name (`via_tuple(id)`, one process per
entity); test doubles kept in `lib/` (modules named `…Mock`, `Fake…`); calls made from inside
the client's own module; call sites in tests, `.exs` scripts and Mix tasks; calls through
`import`ed functions or `defdelegate`. While the project index is still being built, nothing is
reported.

## Why it matters
A GenServer handles one message at a time. When many parts of the system call it on their way
to do their own work, every one of those requests waits in the same mailbox: latency grows with
load, a slow `handle_call` stalls unrelated callers, and the default five-second timeout turns
a busy moment into crashes far from the server. The count of call sites is a cheap measure of
how central the process has become; reads that merely look up state do not need to go through
the process at all.

## Example
```elixir
defmodule Shop.Prices do
  use GenServer
  def price(sku), do: GenServer.call(__MODULE__, {:price, sku})
  # ... called from Shop.Cart, Shop.Checkout, ShopWeb.ProductLive, ShopWeb.API ...
end
```

Let readers skip the mailbox: the server owns a `:protected` ETS table with
`read_concurrency: true`, writes go through it, reads don't.

```elixir
def price(sku) do
  case :ets.lookup(__MODULE__, sku) do
    [{^sku, price}] -> {:ok, price}
    [] -> :error
  end
end
```

Other ways out: `:persistent_term` for data that rarely changes, or partitioning the work
(`PartitionSupervisor`, one process per key).

## Fix
No automatic fix: how to take the load off depends on what the calls do. Open the related
locations to see who calls and why; move reads to ETS or `:persistent_term`, keep
`GenServer.call` for the operations that must be serialised.
""".replace("HOT_PATH_MODULES", str(HOT_PATH_MODULES))


def check(context: Context) -> Iterator[Finding]:
    index = context.project.index
    if not index.complete:
        return
    for module in context.summary.modules:
        if not module.genserver or modules.test_double(module.name):
            continue
        facts = next((m for m in modules.of(context) if m.name == module.name), None)
        if facts is None:
            continue
        reads, writes = _messages(facts)
        if not reads:
            continue
        sites = [
            (path, site)
            for path, site in index.facts.callers(module.name).sites
            if _reads_through(facts, site, reads, writes)
        ]
        callers = sorted({site.caller for _path, site in sites})
        if len(callers) < HOT_PATH_MODULES:
            continue
        served = ", ".join(sorted(reads))
        count = len(sites)
        message = (
            f"{module.name} answers read-only calls ({served}) for "
            f"{len(callers)} modules ({count} call site{'s' if count != 1 else ''}), each "
            "waiting in its one mailbox; serve these reads from ETS or :persistent_term and "
            "keep GenServer.call for what must be serialised."
        )
        related = tuple((path, site.start, site.end, _describe(site)) for path, site in sites)
        yield Finding(
            RULE.code,
            RULE.name,
            RULE.severity,
            message,
            module.start,
            module.end,
            None,
            {"module": module.name, "modules": len(callers), "sites": count},
            related,
        )


GENSERVER_CALLS = frozenset({("GenServer", "call"), (":gen_server", "call")})


def _messages(facts: modules.ModuleFacts) -> tuple[set[str], set[str]]:
    """The message tags (``:get`` for ``{:get, key}``) of ``handle_call``: those whose every
    clause only reads the state, and the others (writes, effects, monitors, replies later)."""
    reads: set[str] = set()
    others: set[str] = set()
    for clause in facts.functions("handle_call", 3):
        tag = _tag(clause.params[0]) if clause.params else None
        if tag is None or callbacks.is_catch_all(clause):
            others.add(tag or "_")
            continue
        (reads if callbacks.only_reads(facts, clause) else others).add(tag)
    return reads - others, others


def _reads_through(
    facts: modules.ModuleFacts, site: CallSite, reads: set[str], writes: set[str]
) -> bool:
    """Whether the call site asks the server for a read: through a client function of the
    server's module that sends a read message, or any call when the server serves only reads."""
    if not writes:
        return True
    return site.target == facts.name and bool(_client_reads(facts, site.function) & reads)


def _client_reads(facts: modules.ModuleFacts, function: str) -> set[str]:
    """The message tags the module's client function ``function`` sends with GenServer.call."""
    tags = set()
    for clause in facts.functions(function) if function else []:
        if clause.body is None:
            continue
        for node in (clause.body, *syntax.descendants(clause.body)):
            if node.type == "call" and syntax.call_key(node) in GENSERVER_CALLS:
                args = syntax.argument_nodes(node)
                message = args[1] if len(args) > 1 else None
                tag = _tag(message) if message is not None else None
                if tag is not None:
                    tags.add(tag)
    return tags


def _tag(message: Node) -> str | None:
    if message.type == "atom":
        return syntax.text(message)
    if message.type == "tuple" and message.named_children:
        first = message.named_children[0]
        return syntax.text(first) if first.type == "atom" else None
    return None


def _describe(site: CallSite) -> str:
    if site.function:
        return f"{site.caller} calls {site.target}.{site.function}"
    return f"{site.caller} calls GenServer.call on {site.target}"


RULE = Rule(
    code="OTP106",
    name="genserver-hot-path",
    severity="information",
    summary="a GenServer many modules reach through GenServer.call (call sites as related)",
    doc=DOC,
    check=check,
    words=("GenServer", "gen_server"),
    production_only=True,
    preview=True,
    project_files=lambda summary: summary.has_genserver,
)
