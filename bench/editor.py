"""Editor latency: didChange → diagnostics through the real server, against one full parse.

    .venv/bin/python bench/editor.py /work/corpus/elixir [--edits 300] [--pull]

For a typical file (the median-sized `.ex` under the corpus's `lib/`) and the largest one, the
server is started on the corpus, the file opened, and ``--edits`` single-character edits sent one
at a time: a character typed at a random place, then deleted again. Each latency runs from the
moment the didChange is written to the moment the diagnostics for that version arrive (pushed,
or with ``--pull`` the answer to ``textDocument/diagnostic`` sent right after the change).

Also measured: a burst of 10 keystrokes written back to back (latency from the last one, and how
many analyses the server ran for the burst), the server's CPU time per edit, and one full
tree-sitter parse of the same file in this process: the target is p95 ≤ 1.5× that parse.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from _common import (
    LspClient,
    elixir_files,
    median,
    parse_once,
    percentile,
)

BURST = 10


def utf16_position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    column = len(text[start:offset].encode("utf-16-le")) // 2
    return {"line": line, "character": column}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session:
    def __init__(self, client: LspClient, path: Path, pull: bool) -> None:
        self.client, self.pull = client, pull
        self.uri = path.resolve().as_uri()
        self.text = path.read_text("utf-8")
        self.version = 1
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": self.uri, "languageId": "elixir", "version": 1,
                              "text": self.text}},
        )  # fmt: skip
        self.diagnostics()

    def change(self, start: int, end: int, new_text: str) -> float:
        change = {
            "range": {
                "start": utf16_position(self.text, start),
                "end": utf16_position(self.text, end),
            },
            "text": new_text,
        }
        self.text = self.text[:start] + new_text + self.text[end:]
        self.version += 1
        return self.client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": self.uri, "version": self.version},
                "contentChanges": [change],
            },
        )

    def diagnostics(self) -> float:
        """When the diagnostics of the current version arrived."""
        if self.pull:
            answer = self.client.call(
                "textDocument/diagnostic", {"textDocument": {"uri": self.uri}}
            )
            return float(answer["_received"])
        return float(self.client.diagnostics_for(self.uri, self.version)["_received"])

    def published(self) -> int:
        """How many times the server has pushed diagnostics for this document so far."""
        return self.client.published.get(self.uri, 0)


def measure(corpus: Path, path: Path, edits: int, pull: bool, seed: int) -> None:
    data = path.read_bytes()
    parse = min(parse_once(data) for _ in range(5))
    client = LspClient()
    client.initialize(corpus, pull=pull)
    client.wait_indexed()  # measure typing, not the background indexing of the corpus
    session = Session(client, path, pull)
    rng = random.Random(seed)
    latencies = []
    cpu_before = cpu_seconds(client.pid)
    typed_at = None
    for _ in range(edits):
        if typed_at is None:
            typed_at = rng.randrange(len(session.text) + 1)
            sent = session.change(typed_at, typed_at, "x")
        else:
            sent = session.change(typed_at, typed_at + 1, "")
            typed_at = None
        latencies.append(session.diagnostics() - sent)
    cpu = (cpu_seconds(client.pid) - cpu_before) / edits

    bursts, analyses = [], []
    for _ in range(10):
        at = rng.randrange(len(session.text) + 1)
        before = session.published()
        for step in range(BURST):
            sent = session.change(at + step, at + step, "y")
        bursts.append(session.diagnostics() - sent)
        time.sleep(0.2)
        analyses.append(session.published() - before)
        session.change(at, at + BURST, "")
        session.diagnostics()
    client.close()

    p50, p95 = median(latencies), percentile(latencies, 0.95)
    print(f"{path} ({len(data) / 1000:.0f} kB, {session.text.count(chr(10))} lines)")
    print(f"  full parse (bare tree-sitter)   {parse * 1000:7.1f} ms")
    print(
        f"  didChange→diagnostics p50       {p50 * 1000:7.1f} ms   {p50 / parse:.2f}x parse"
        f"\n  didChange→diagnostics p95       {p95 * 1000:7.1f} ms   {p95 / parse:.2f}x parse"
        f"   ({edits} edits, {'pull' if pull else 'push'})"
    )
    print(f"  server CPU per edit             {cpu * 1000:7.1f} ms   {cpu / parse:.2f}x parse")
    if not pull:
        print(
            f"  burst of {BURST} keystrokes: last→diagnostics p50 {median(bursts) * 1000:.1f} ms, "
            f"diagnostics published per burst {median([float(a) for a in analyses]):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--pull", action="store_true", help="pull diagnostics instead of push")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--file", type=Path, action="append", help="measure these files instead")
    args = parser.parse_args()
    if args.file:
        chosen = args.file
    else:
        lib = args.corpus / "lib" if (args.corpus / "lib").is_dir() else args.corpus
        files = sorted((p for p in elixir_files(lib) if p.suffix == ".ex"), key=_size)
        chosen = [files[len(files) // 2], files[-1]]
    for path in chosen:
        measure(args.corpus, path, args.edits, args.pull, args.seed)


def _size(path: Path) -> int:
    return path.stat().st_size


if __name__ == "__main__":
    main()
