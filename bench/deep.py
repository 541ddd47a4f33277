"""Analysis of deeply nested files against a bare parse of the same text.

    .venv/bin/python bench/deep.py [--depths 2000,20000]

For each generated shape (a GenServer whose callback holds a chain of piped ``Task.async()``,
the same callback inside nested ``defmodule``s, inside nested lists, inside nested ``fn``s),
prints the size, the best of three bare parses, one analysis (rules loaded and queries compiled
beforehand on a small file of the same shape), one project-index summary, and their multiples
of the parse. Linear work shows as multiples that stay put as the depth grows.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from otp_thinking.engine import analyze
from otp_thinking.index import summarize
from otp_thinking.parsing import parse
from otp_thinking.source import Source

CALLBACK = (
    "defmodule P do\n  use GenServer\n  def handle_cast(x, s) do\n{body}\n"
    "    {{:noreply, s}}\n  end\nend\n"
)
SHAPES: dict[str, Callable[[int], str]] = {
    "piped Task.async": lambda n: CALLBACK.format(body="    x\n" + "    |> Task.async()\n" * n),
    "nested defmodules": lambda n: (
        "".join(f"defmodule M{i} do\n" for i in range(n))
        + CALLBACK.format(body="    Task.async(fn -> x end)")
        + "end\n" * n
    ),
    "nested lists": lambda n: CALLBACK.format(
        body="    y = " + "[" * n + "Task.async(fn -> x end)" + "]" * n
    ),
    "nested fns": lambda n: CALLBACK.format(
        body="    f = " + "fn -> " * n + "Task.async(fn -> x end)" + " end" * n
    ),
}


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="2000,20000")
    args = parser.parse_args()
    for name, make in SHAPES.items():
        analyze(Source(make(3), "lib/warm.ex"))
        for depth in (int(d) for d in args.depths.split(",")):
            print(f"{name:<18} depth {depth:>6}  {measure(make(depth))}", flush=True)


def measure(text: str) -> str:
    data = text.encode("utf-8")
    bare = min(timed(lambda: parse(data)) for _ in range(3))
    found: list[object] = []
    analysis = timed(lambda: found.extend(analyze(Source(text, "lib/deep.ex"))))
    summary = timed(lambda: summarize(Source(text, "lib/deep.ex"), "lib/deep.ex"))
    return (
        f"{len(data) / 1024:5.0f} KB  parse {bare * 1000:6.1f} ms"
        f"  analyze {analysis * 1000:6.0f} ms (x{analysis / bare:3.0f}, {len(found)} findings)"
        f"  summarize {summary * 1000:6.0f} ms (x{summary / bare:3.0f})"
    )


if __name__ == "__main__":
    main()
