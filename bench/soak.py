"""Memory of the language server over a long editing session: resident set size after bursts
of edits to one open document and of open/close cycles of another.

    .venv/bin/python bench/soak.py [--edits 100000] [--cycles 30000]

Prints the RSS (from /proc, in MB) after a warm-up and after every tenth of the run; the figure
to judge is the growth after the warm-up, which should stay flat.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import LspClient, rss_mb

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEXT = """defmodule Storefront.Lookup do
  def handle_call(sku, _from, state) do
    task = Task.async(fn -> sku end)
    {:reply, Task.await(task), state}
  end
end
"""


def edit(line: int, start: int, end: int, text: str) -> dict:
    return {
        "range": {
            "start": {"line": line, "character": start},
            "end": {"line": line, "character": end},
        },
        "text": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=30_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "storefront"
        shutil.copytree(EXAMPLES, root)
        client = LspClient()
        client.initialize(root)
        uri = (root / "lib" / "lookup.ex").as_uri()
        other = (root / "lib" / "other.ex").as_uri()
        item = {"uri": uri, "languageId": "elixir", "version": 1, "text": TEXT}
        client.notify("textDocument/didOpen", {"textDocument": item})
        version = 1
        baseline = None
        started = time.monotonic()
        steps = 10
        for step in range(steps + 1):
            count = args.edits // steps if step else 1000
            for _ in range(count):
                version += 1
                change = edit(1, 0, 0, " ") if version % 2 else edit(1, 0, 1, "")
                client.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
                )
            for n in range(args.cycles // steps if step else 300):
                opened = {"uri": other, "languageId": "elixir", "version": n, "text": TEXT}
                client.notify("textDocument/didOpen", {"textDocument": opened})
                client.notify("textDocument/didClose", {"textDocument": {"uri": other}})
            client.call(
                "textDocument/hover",
                {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 12}},
            )
            time.sleep(0.3)
            rss, peak = rss_mb(client.pid)
            if baseline is None:
                baseline = rss
                print(f"  warm-up                 RSS {rss:7.1f} MB")
                continue
            print(
                f"  {step * args.edits // steps:>7} edits {step * args.cycles // steps:>6} cycles"
                f"  RSS {rss:7.1f} MB  +{rss - baseline:5.1f} MB  peak {peak:7.1f} MB"
                f"  ({time.monotonic() - started:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
