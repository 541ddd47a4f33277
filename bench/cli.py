"""`otp-thinking check` over a whole tree, against a bare tree-sitter parse of the same files.

    .venv/bin/python bench/cli.py /work/corpus/elixir [--runs 3] [--jobs N]

Prints, each measured in this run (fastest of --runs, steps taking turns):
- the bare parse (read + parse every file) in this process, and as a fresh interpreter;
- the analysis in this process (`cli.main(["check", ...])`, warm), ratio to the bare parse;
- `otp-thinking check --jobs 1 TREE` as a process, ratio to the bare-parse process;
- with `--jobs` (when the CLI has it): 1 and N processes, and the wall-clock speed-up; and
  `otp-thinking check TREE` as run without `--jobs`;
- with the cache on disk (when the CLI has it), on a copy of the tree: `check --jobs 1` with a
  warm cache, and with one file changed before each run, against the bare-parse process (the
  other figures are cold: `--no-cache`);
- start-up: `otp-thinking check` on one small file against the interpreter's bare start.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import (
    PYTHON,
    bare_parse,
    bare_parse_process,
    child_env,
    elixir_files,
    interleaved,
    ratio,
)

SMALL_FILE = """defmodule Small do
  def hello(name), do: "hello " <> name
end
"""


def command() -> list[str]:
    beside = Path(PYTHON).parent / "otp-thinking"
    return [str(beside)] if beside.exists() else [PYTHON, "-m", "otp_thinking"]


def check_process(*args: str) -> None:
    done = subprocess.run(
        [*command(), "check", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=child_env(),
    )  # fmt: skip
    if done.returncode not in (0, 1) or b"Traceback" in done.stderr:
        # exit 1 is "findings", but an uncaught exception exits 1 too
        raise SystemExit(f"check failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def check_in_process(tree: str, *more: str) -> None:
    from otp_thinking.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["check", tree, "--format", "json", *more])


def has_option(option: str) -> bool:
    done = subprocess.run([*command(), "check", "--help"], capture_output=True, text=True)
    return option in done.stdout


def has_jobs() -> bool:
    return has_option("--jobs")


def cache_steps(copy: Path, files: list[Path]) -> dict[str, object]:
    """Warm-cache runs on ``copy`` of the tree (``files`` are its files), unchanged and with one
    file changed each run (the median-sized file, given a comment that alternates)."""
    check_process(str(copy), "--jobs", "1")  # fills the cache
    target = sorted(files, key=lambda p: p.stat().st_size)[len(files) // 2]
    text = target.read_text("utf-8")
    turn = [0]

    def one_changed() -> None:
        turn[0] += 1
        target.write_text(text + f"\n# run {turn[0]}\n", "utf-8")
        check_process(str(copy), "--format", "json", "--jobs", "1")

    return {
        "warm": lambda: check_process(str(copy), "--format", "json", "--jobs", "1"),
        "one changed": one_changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", help="a folder of Elixir code (a corpus project)")
    parser.add_argument("--runs", type=int, default=3, help="fastest of this many runs")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    tree = args.tree

    files = elixir_files(tree)
    size = sum(p.stat().st_size for p in files)
    print(f"tree: {tree}: {len(files)} files, {size / 1e6:.1f} MB; fastest of {args.runs} runs")
    print("ratios compare CPU time (this machine is shared); wall time shown beside it\n")

    jobs = has_jobs()
    cached = has_option("--no-cache")
    one_job = (["--jobs", "1"] if jobs else []) + (["--no-cache"] if cached else [])
    check_in_process(tree, *one_job)  # warm-up: imports, rule registry, query compilation
    check_process(tree)  # warm-up: bytecode cache
    steps = {
        "parse": lambda: bare_parse(files),
        "check": lambda: check_in_process(tree, *one_job),
        "parse process": lambda: bare_parse_process(files),
        "check process": lambda: check_process(tree, "--format", "json", *one_job),
    }
    cold = ["--no-cache"] if cached else []
    if jobs:
        steps["default"] = lambda: check_process(tree, *cold)
        steps["jobs 1"] = lambda: check_process(tree, "--jobs", "1", *cold)
        steps["jobs N"] = lambda: check_process(tree, "--jobs", str(args.jobs), *cold)
    with contextlib.ExitStack() as stack:
        if cached:
            copy = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "tree"
            shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
            files_root = Path(tree).resolve()
            copied = [copy / p.resolve().relative_to(files_root) for p in files]
            steps.update(cache_steps(copy, copied))  # type: ignore[arg-type]
        t = interleaved(steps, args.runs)

    print(f"bare parse, in process              {t['parse']}")
    print(f"check, in process (warm)            {t['check']}   {ratio(t['check'], t['parse'])}")
    print(f"bare parse, fresh interpreter       {t['parse process']}")
    print(
        f"otp-thinking check --jobs 1 TREE    {t['check process']}   "
        f"{ratio(t['check process'], t['parse process'])}"
    )
    if jobs:
        one, many = t["jobs 1"], t["jobs N"]
        print(f"check --jobs 1                      {one}")
        print(
            f"check --jobs {args.jobs:<3}                    {many}   wall speed-up "
            f"{one.wall / many.wall:.2f}x on {args.jobs} processes"
        )
        print(
            f"check (no --jobs: automatic)        {t['default']}   wall speed-up "
            f"{one.wall / t['default'].wall:.2f}x"
        )
    else:
        print("check --jobs N                      not available in this build of the CLI")
    if cached:
        for name, what in (("warm", "warm cache"), ("one changed", "one file changed")):
            print(f"check --jobs 1, {what:<19} {t[name]}   {ratio(t[name], t['parse process'])}")

    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder, "small.ex")
        small.write_text(SMALL_FILE, "utf-8")
        check_process(str(small))
        start = interleaved(
            {
                "python": lambda: _run([PYTHON, "-c", "pass"]),
                "imports": lambda: _run([PYTHON, "-c", "import tree_sitter, tree_sitter_elixir"]),
                "check": lambda: check_process(str(small)),
            },
            args.runs * 5,
        )
    print(f"\ninterpreter start (python -c pass)  {start['python']}")
    print(f"  + import tree_sitter(_elixir)     {start['imports']}")
    print(
        f"check one small file                {start['check']}   "
        f"{ratio(start['check'], start['python'])} interpreter start "
        f"(+{(start['check'].wall - start['python'].wall) * 1000:.0f} ms wall)"
    )


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, env=child_env())


if __name__ == "__main__":
    main()
