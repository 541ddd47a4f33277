"""`otp-thinking check` with the cache on disk: this build against another, in the same run.

    .venv/bin/python bench/cache.py /work/corpus/hexpm+hexpm [--runs 3] [--base COMMIT]

Each build checks its own copy of the tree (`check --jobs 1 --format json`, as processes),
after two runs that fill its cache:
- warm: nothing changed since its last run;
- one changed: the median-sized file gets a new comment at its end before each run.
With ``--base COMMIT``, the same steps run with the package as it was at COMMIT (its `server/`
and `rules/`, taken with `git archive`, put first on PYTHONPATH), steps taking turns with this
build's, so that the load of a shared machine falls on both alike. Every figure is the fastest
of ``--runs`` (CPU time of the process), beside the bare tree-sitter parse of the same files as a
fresh process, measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import PYTHON, bare_parse_process, child_env, elixir_files, interleaved

ROOT = Path(__file__).resolve().parent.parent


def base_package(commit: str, folder: Path) -> Path:
    """A folder holding the `otp_thinking` package as it was at ``commit``."""
    archive = subprocess.run(
        ["git", "archive", commit, "server", "rules"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder / "source", filter="data")
    package = folder / "package" / "otp_thinking"
    shutil.copytree(folder / "source" / "server", package)
    shutil.rmtree(package / "rules", ignore_errors=True)
    shutil.copytree(folder / "source" / "rules", package / "rules")
    return folder / "package"


def build_steps(
    tree: Path, files: list[Path], copy: Path, python_path: Path | None
) -> dict[str, Callable[[], None]]:
    """Warm and one-changed runs of one build on its own ``copy`` of ``tree``."""
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
    env = child_env()
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)

    def check() -> None:
        done = subprocess.run(
            [PYTHON, "-m", "otp_thinking", "check", str(copy), "--format", "json", "--jobs", "1"],
            capture_output=True, env=env,
        )  # fmt: skip
        # exit 1 is findings, and also a traceback: only a JSON list of findings counts
        if done.returncode not in (0, 1) or not done.stdout.startswith(b"["):
            raise SystemExit(f"check failed ({done.returncode}): {done.stderr.decode()[-2000:]}")

    root = tree.resolve()
    copied = sorted((copy / p.resolve().relative_to(root) for p in files), key=_size)
    target = copied[len(copied) // 2]
    text = target.read_text("utf-8")
    turn = [0]

    def one_changed() -> None:
        turn[0] += 1
        target.write_text(text + f"\n# run {turn[0]}\n", "utf-8")
        check()

    check()
    check()
    return {"warm": check, "one changed": one_changed}


def _size(path: Path) -> int:
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path, help="a folder of Elixir code (a corpus project)")
    parser.add_argument("--runs", type=int, default=3, help="fastest of this many runs")
    parser.add_argument("--base", metavar="COMMIT", help="compare with the package at COMMIT")
    args = parser.parse_args()
    files = elixir_files(args.tree)
    print(f"tree: {args.tree}: {len(files)} files; fastest of {args.runs} runs, CPU time")

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        builds: dict[str, Path | None] = {"this build": None}
        if args.base:
            builds = {f"base {args.base}": base_package(args.base, work / "base"), **builds}
        steps: dict[str, Callable[[], None]] = {}
        for index, (name, python_path) in enumerate(builds.items()):
            copy = work / f"tree-{index}"
            for step, run in build_steps(args.tree, files, copy, python_path).items():
                steps[f"{name}: {step}"] = run
        time.sleep(2.1)  # every file's stat old enough for the cache to trust it
        for run in steps.values():
            run()
        steps["bare parse process"] = lambda: bare_parse_process(files)
        timings = interleaved(steps, args.runs)

    floor = timings["bare parse process"]
    for name, timing in timings.items():
        print(f"{name:<40} {timing}   {timing.cpu / floor.cpu:.2f}x")


if __name__ == "__main__":
    main()
