"""OTP602 dets-size-limit: a DETS file holds at most 2 GB and repairs slowly after a crash."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.rule import Rule

DOC = """\
## What it flags
Every `:dets.open_file/1` and `:dets.open_file/2` call in production code: the place where a
DETS table comes to life, so the place to decide whether DETS is the right store.

Not flagged: tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`)
(a throwaway table in a test or a script does not live long enough to hit the limits); other
`:dets` functions, which act on a table already opened; text in strings and comments.

## Why it matters
DETS is ETS's on-disk sibling and fits small data on one node, with limits that show up only
once the data has grown:

- a DETS file cannot exceed 2 GB; inserts beyond that fail;
- a table that was not closed properly (the VM crashed or was killed) is repaired when it is
  next opened, and the repair reads the whole file: on a big table start-up can stall for
  minutes, and the process that opens it (often an `init/1`) blocks all that time;
- there is no `ordered_set`, and lookups and writes go to the file, not to memory.

## Example
```elixir
def init(path) do
  {:ok, table} = :dets.open_file(:sessions, file: String.to_charlist(path))
  {:ok, table}
end
```

If the data stays small and local, DETS is fine: keep it and silence this hint. When it can
grow or must survive crashes cleanly, pick a store built for that:

- Mnesia with `disc_copies` tables (data in memory, logged to disk, so no 2 GB file limit —
  unlike `disc_only_copies`, which are DETS files; transactions and replication come along);
- SQLite (`exqlite`, `ecto_sqlite3`) or Postgres through Ecto for relational data;
- CubDB, a pure-Elixir embedded key-value store with atomic, crash-safe writes.

## Fix
No automatic fix: the replacement depends on the data. Choose one of the stores above, or keep
DETS with a note on why its limits are acceptable here
(`# otp-thinking: disable-next-line OTP602`).
"""


MESSAGE = (
    "A DETS file is limited to 2 GB and is repaired slowly after a crash; "
    "for data that can grow, use Mnesia disc_copies, SQLite/Postgres or CubDB instead."
)


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({":dets"}, {"open_file"}):
        call = captures["call"][0]
        yield context.finding(RULE, call.child_by_field_name("target") or call, MESSAGE)


RULE = Rule(
    code="OTP602",
    name="dets-size-limit",
    severity="hint",
    summary=":dets.open_file: a 2 GB file limit and slow repair after a crash",
    doc=DOC,
    check=check,
    words=("dets",),
    production_only=True,
    preview=True,
)
