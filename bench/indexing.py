"""Indexing at start-up: how long after `initialized` the server's cross-file rules are ready,
with no cache on disk and then with the cache its first session (or a `check`) left.

    .venv/bin/python bench/indexing.py /work/corpus/hexpm [--runs 2]

The project is copied to a temporary folder first (the server writes `.otp-thinking-cache/`
into the project). Each run starts a fresh server: cold (the cache folder removed), then warm.
Printed beside them: a bare tree-sitter parse of the same files in this process, the floor.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import LspClient, bare_parse, elixir_files, ratio


def ready_after_initialized(project: Path) -> float:
    client = LspClient()
    try:
        client.initialize(project)
        return client.wait_indexed()
    finally:
        client.close()


def bare(files: list[Path]) -> float:
    started = time.perf_counter()
    bare_parse(files)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / args.project.name
        shutil.copytree(args.project, project, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
        files = elixir_files(project)
        print(f"{args.project}: {len(files)} files")
        cold, warm, floor = [], [], []
        for _ in range(args.runs):
            shutil.rmtree(project / ".otp-thinking-cache", ignore_errors=True)
            cold.append(ready_after_initialized(project))
            warm.append(ready_after_initialized(project))
            floor.append(bare(files))
        floor_s = min(floor)
        print(f"  bare parse (this process)      {floor_s:6.2f} s")
        for label, runs in (("indexed, no cache", cold), ("indexed, warm cache", warm)):
            print(f"  {label:<30} {min(runs):6.2f} s  {ratio(min(runs), floor_s)}")


if __name__ == "__main__":
    main()
