"""Analysis of deep, long and large files against a bare parse of the same text.

    .venv/bin/python bench/deep.py [--depths 2000,20000] [--megabytes 10] [--shapes piped,...]

For each generated shape, prints the size, the best of three bare parses, one analysis (rules
loaded and queries compiled beforehand on a small file of the same shape, the query pack of
ordinary code compiled before all and kept), one project-index
summary, and their multiples of the parse, all in CPU time (steadier than wall time on a shared
machine). Linear work shows as multiples that stay put as the
depth grows. The shapes: a GenServer callback holding a chain of ``n`` piped ``Task.async()``
(each call nested in the next), the same callback with ``n`` ``Task.async(fn -> x end)``
statements (a long flat body), the callback inside ``n`` nested ``defmodule``s, and a dropped
``Task.async`` inside ``n`` nested lists, ``fn``s and ``case``s (each shape has a finding, so
its fix is computed too; every rule runs, the preview ones included); then a file of
ordinary code (the files of ``examples/`` repeated) of each size in ``--megabytes``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from otp_thinking import collector, config
from otp_thinking.engine import analyze
from otp_thinking.model.summary import summarize
from otp_thinking.parsing import parse
from otp_thinking.query_pack import PACKS
from otp_thinking.source import Source

CALLBACK = (
    "defmodule P do\n  use GenServer\n  def handle_cast(x, s) do\n{body}\n"
    "    {{:noreply, s}}\n  end\nend\n"
)
TASK = "Task.async(fn -> x end)"
DROPPED = f"{TASK}\n:ok"
"""A task whose value is dropped: OTP101 reports it and computes its fix."""
EVERY_RULE, _ = config.from_mapping({"rules": {"preview": True}})
"""The preview rules run too: OTP101, the rule these shapes stress, is one."""
SHAPES: dict[str, Callable[[int], str]] = {
    "piped": lambda n: CALLBACK.format(body="    x\n" + "    |> Task.async()\n" * n),
    "statements": lambda n: CALLBACK.format(body=f"    {TASK}\n" * n),
    "defmodules": lambda n: (
        "".join(f"defmodule M{i} do\n" for i in range(n))
        + CALLBACK.format(body=f"    {TASK}")
        + "end\n" * n
    ),
    "lists": lambda n: CALLBACK.format(body="    y = " + "[" * n + f"({DROPPED})" + "]" * n),
    "fns": lambda n: CALLBACK.format(body="    f = " + "fn -> " * n + DROPPED + " end" * n),
    "cases": lambda n: CALLBACK.format(
        body="    " + "case x do\n_ ->\n" * n + DROPPED + "\nend" * n + "\n    :ok"
    ),
}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def ordinary_code(megabytes: float) -> str:
    """The files of ``examples/`` (a small application) repeated to ``megabytes`` of text."""
    unit = "\n".join(p.read_text("utf-8") for p in sorted(EXAMPLES.rglob("*.ex*"))) + "\n"
    return unit * (int(megabytes * 1_000_000) // len(unit) + 1)


def pack_queries() -> None:
    """Compile the query pack of ordinary code now, and keep it: otherwise it is compiled in
    the middle of whichever analysis first brings the text analysed past `Packs.MIN_TEXT`,
    and that analysis is charged for it (several parses' worth)."""
    PACKS.min_text = 0
    for _ in range(2):
        analyze(Source(ordinary_code(0.05), "lib/warm.ex"), config=EVERY_RULE)
    PACKS.min_text = 1 << 62


def timed(step: Callable[[], object]) -> float:
    started = time.process_time()
    step()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="2000,20000")
    parser.add_argument("--megabytes", default="10", help="sizes of ordinary code; '' for none")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="a comma-separated subset")
    args = parser.parse_args()
    pack_queries()
    collector.tune()  # as `check` and the language server set it before they analyse
    for name in args.shapes.split(","):
        if not name:
            continue
        make = SHAPES[name]
        analyze(Source(make(3), "lib/warm.ex"), config=EVERY_RULE)
        for depth in (int(d) for d in args.depths.split(",")):
            print(f"{name:<11} n {depth:>6}  {measure(make(depth))}", flush=True)
    for megabytes in (float(m) for m in args.megabytes.split(",") if m):
        analyze(Source(ordinary_code(0.05), "lib/warm.ex"), config=EVERY_RULE)
        figures = measure(ordinary_code(megabytes))
        print(f"{'ordinary':<11} {megabytes:>4g} MB  {figures}", flush=True)


def measure(text: str) -> str:
    data = text.encode("utf-8")
    bare = min(timed(lambda: parse(data)) for _ in range(3))
    found: list[object] = []
    analysis = timed(lambda: found.extend(analyze(Source(text, "lib/deep.ex"), config=EVERY_RULE)))
    summary = timed(lambda: summarize(Source(text, "lib/deep.ex"), "lib/deep.ex"))
    return (
        f"{len(data) / 1024:6.0f} KB  parse {bare * 1000:7.1f} ms"
        f"  analyze {analysis * 1000:7.0f} ms (x{analysis / bare:4.0f}, {len(found)} findings)"
        f"  summarize {summary * 1000:6.0f} ms (x{summary / bare:3.0f})"
    )


if __name__ == "__main__":
    main()
