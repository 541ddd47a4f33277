"""OTP106 genserver-hot-path: a GenServer that many modules of the project reach through
`GenServer.call`, reported on the GenServer with every call site as related information."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.index import HOT_PATH_MODULES, CallSite
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A `use GenServer` module that HOT_PATH_MODULES or more other modules of the project call
through `GenServer.call`: directly (`GenServer.call(MyApp.Cache, msg)`, or on the name it
registers with `name:`), or through its client functions — public functions of any module whose
body makes that call, or calls a private function that makes it. The diagnostic sits on the
module's name and lists every call site as related information.

Not flagged: servers addressed by pid or by a computed name (`via_tuple(id)`, one process per
entity); calls made from inside the client's own module; call sites in tests, `.exs` scripts and
Mix tasks; calls through `import`ed functions or `defdelegate`. While the project index is
still being built, nothing is reported.

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
        if not module.genserver:
            continue
        callers = index.callers(module.name)
        if not callers.hot:
            continue
        count = len(callers.sites)
        message = (
            f"{module.name} is reached through GenServer.call from {len(callers.modules)} "
            f"modules ({count} call site{'s' if count != 1 else ''}) that all wait in its one "
            "mailbox; keep it off the paths that need no serialising (reads from ETS or "
            ":persistent_term, casts, partitioning)."
        )
        related = tuple(
            (path, site.start, site.end, _describe(site)) for path, site in callers.sites
        )
        yield Finding(
            RULE.code,
            RULE.name,
            RULE.severity,
            message,
            module.start,
            module.end,
            None,
            {"module": module.name, "modules": len(callers.modules), "sites": count},
            related,
        )


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
    project_files=lambda summary: summary.has_genserver,
)
