"""Fixes on real code: apply every fix to copies of the pinned corpus and check what they wrote.

    python bench/fixcheck.py [--dest /work/corpus] [--half both|tuning|review|holdout|holdout2|…]
                             [--only NAME…]

For each project of the tuning and the review half of ``bench/precision/corpus.json`` (the
holdout, kept for a blind review, only with ``--half holdout``; checked out by ``corpus.py
checkout`` into ``DEST/<owner>+<name>``), a copy in a temporary folder gets
``otp-thinking check --fix --unsafe-fixes --select <every rule, preview ones included> .``, as a
user would run it. Every file the fixes changed is then checked:

* tree-sitter: no more ERROR or MISSING nodes than before;
* Elixir's own parser (``Code.string_to_quoted!``, one ``elixir`` process per project) accepts
  it when it accepted the original;
* `mix format` (default options, reported, not a failure): a file that was formatted is
  still formatted;
* supervision (``otp_thinking.model.supervision``): no child the fixes added to a children list
  starts a name or child id the project already started before the fixes (in any file and
  spelling, tests left out), repeats one of its own list, or is added twice in the project
  (one default ``:pg`` scope per node).

It prints a table per project and the total, then each failure, and exits 1 on any failure.
It measures real code; nothing of the projects is written outside the temporary copies.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "precision"))

import corpus  # noqa: E402  (bench/precision/corpus.py)

from otp_thinking import syntax  # noqa: E402
from otp_thinking.model.summary import FileSummary, summarize  # noqa: E402
from otp_thinking.model.supervision import PG, ChildrenList  # noqa: E402
from otp_thinking.registry import all_rules  # noqa: E402
from otp_thinking.source import Source  # noqa: E402

SKIPPED_DIRS = frozenset({"deps", "_build", ".git", "node_modules", ".elixir_ls", ".expert"})
STARTING_WORDS = ("name:", ":pg", "Registry", "start_link", "Supervisor", "child_spec")
"""A file without any of these starts no process name the model can read."""
FIXED = re.compile(r"^Fixed (\d+) findings? in ", re.MULTILINE)
FIX_TIMEOUT = 1800

PARSER_SCRIPT = """
[list] = System.argv()

for path <- String.split(File.read!(list), "\\n", trim: true) do
  text = File.read!(path)

  try do
    Code.string_to_quoted!(text, file: path)

    formatted =
      try do
        if IO.iodata_to_binary([Code.format_string!(text), "\\n"]) == text,
          do: "formatted",
          else: "unformatted"
      rescue
        _ -> "unformatted"
      end

    IO.puts("ok\\t" <> path <> "\\t" <> formatted)
  rescue
    e -> IO.puts("error\\t" <> path <> "\\t" <> String.replace(Exception.message(e), "\\n", " "))
  end
end
"""


@dataclass
class Outcome:
    project: str
    files_changed: int = 0
    fixes: int = 0
    parse_failures: list[str] = field(default_factory=list)
    unformatted: list[str] = field(default_factory=list)
    """Files `mix format`-clean (default options) before the fixes and not after: reported,
    not a failure (a project's own .formatter.exs may differ)."""
    duplicates: list[str] = field(default_factory=list)
    tool_failure: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.parse_failures or self.duplicates or self.tool_failure)


def elixir_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        skipped = SKIPPED_DIRS.intersection(path.relative_to(root).parts)
        if path.suffix in (".ex", ".exs") and not skipped and path.is_file():
            found.append(path)
    return found


def every_rule() -> str:
    return ",".join(rule.code for rule in all_rules())


def run_fixes(copy: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "otp_thinking", "check", "--fix", "--unsafe-fixes"]
    command += ["--no-cache", "--select", every_rule(), "."]
    return subprocess.run(
        command, cwd=copy, capture_output=True, text=True, timeout=FIX_TIMEOUT, check=False
    )


# -- parsing -----------------------------------------------------------------------------


def syntax_errors(text: str) -> int:
    """ERROR and MISSING nodes of tree-sitter's parse of ``text``."""
    return syntax.error_count(Source(text).tree.root_node)


def elixir_verdicts(paths: list[Path], scratch: Path) -> dict[Path, tuple[str, bool]]:
    """For each of ``paths``: what Elixir's parser said when it rejected it (else ""), and
    whether `mix format` with default options leaves it as it is (one process for all)."""
    if not paths:
        return {}
    listing = scratch / "paths.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n", "utf-8")
    done = subprocess.run(
        ["elixir", "-e", PARSER_SCRIPT, str(listing)],
        capture_output=True,
        text=True,
        timeout=FIX_TIMEOUT,
        check=False,
    )
    answered: dict[Path, tuple[str, bool]] = {}
    for line in done.stdout.splitlines():
        verdict, _, rest = line.partition("\t")
        path, _, said = rest.partition("\t")
        if verdict == "ok":
            answered[Path(path)] = ("", said == "formatted")
        else:
            answered[Path(path)] = (said or "rejected", False)
    missing = (f"no answer ({done.stderr.strip()[:200]})", False)
    return {p: answered.get(p, missing) for p in paths}


# -- supervision ---------------------------------------------------------------------------


def summary(text: str, path: Path) -> FileSummary | None:
    if not any(word in text for word in STARTING_WORDS):
        return None
    return summarize(Source(text, str(path)), str(path))


def is_test(relative: Path) -> bool:
    parts = relative.parts
    return "test" in parts or relative.name.endswith("_test.exs")


def list_key(found: ChildrenList, ordinal: int) -> tuple[str, str, int]:
    return found.owner, found.function, ordinal


def keyed_lists(facts: FileSummary | None) -> dict[tuple[str, str, int], ChildrenList]:
    lists: dict[tuple[str, str, int], ChildrenList] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for found in facts.supervision.lists if facts is not None else ():
        if found.end > found.start:
            lists[list_key(found, seen[found.owner, found.function])] = found
            seen[found.owner, found.function] += 1
    return lists


def started_before(summaries: dict[Path, FileSummary | None], root: Path) -> set[str]:
    """Every name and child id production code of the project starts before the fixes."""
    names: set[str] = set()
    for path, facts in summaries.items():
        if facts is None or is_test(path.relative_to(root)):
            continue
        names.update(start.name for start in facts.supervision.names if start.name)
        for found in facts.supervision.lists:
            for child in found.children:
                names.update(n for n in (child.name, child.child_id) if n)
                if child.kind == PG:
                    names.add(child.name or ":pg")
    return names


def added_children(
    path: Path, before: str, after: str, root: Path
) -> list[tuple[str, str | None, list[str]]]:
    """(where, name, ids of its list after) of each child the fixes added to ``path``."""
    old, new = keyed_lists(summary(before, path)), keyed_lists(summary(after, path))
    added = []
    for key, found in new.items():
        had = Counter(before[c.start : c.end] for c in (old[key].children if key in old else ()))
        ids = [c.child_id or c.name or c.module or "?" for c in found.children]
        for child in found.children:
            text = after[child.start : child.end]
            if had[text]:
                had[text] -= 1
                continue
            line = after.count("\n", 0, child.start) + 1
            where = f"{path.relative_to(root)}:{line} {text}"
            added.append((where, child.child_id or child.name, ids))
    return added


# -- one project -------------------------------------------------------------------------


def check_project(source: Path, scratch: Path) -> Outcome:
    outcome = Outcome(source.name)
    copy = scratch / source.name
    shutil.copytree(
        source, copy, ignore=shutil.ignore_patterns(".otp-thinking-cache"), symlinks=True
    )
    files = elixir_files(copy)
    texts = {path: path.read_text("utf-8", "surrogateescape") for path in files}
    started = time.perf_counter()
    done = run_fixes(copy)
    outcome.seconds = time.perf_counter() - started
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        outcome.tool_failure = f"exit {done.returncode}: {done.stderr.strip()[-400:]}"
    outcome.fixes = sum(int(n) for n in FIXED.findall(done.stderr))
    changed = {p: p.read_text("utf-8", "surrogateescape") for p in files}
    changed = {p: t for p, t in changed.items() if t != texts[p]}
    outcome.files_changed = len(changed)
    check_parses(outcome, texts, changed, copy, scratch)
    check_children(outcome, texts, changed, copy)
    return outcome


def check_parses(
    outcome: Outcome, texts: dict[Path, str], changed: dict[Path, str], copy: Path, scratch: Path
) -> None:
    originals = scratch / "originals"
    mirrored = {}
    for path in changed:
        mirror = originals / path.relative_to(copy)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        mirror.write_text(texts[path], "utf-8", "surrogateescape")
        mirrored[path] = mirror
    said = elixir_verdicts([*changed, *mirrored.values()], scratch)
    for path, after in changed.items():
        relative = path.relative_to(copy)
        before_errors, after_errors = syntax_errors(texts[path]), syntax_errors(after)
        if after_errors > before_errors:
            outcome.parse_failures.append(
                f"{relative}: tree-sitter {before_errors} → {after_errors} ERROR/MISSING nodes"
            )
        (rejected, formatted), (rejected_before, formatted_before) = (
            said[path],
            said[mirrored[path]],
        )
        if rejected and not rejected_before:
            outcome.parse_failures.append(f"{relative}: elixir: {rejected}")
        if formatted_before and not formatted and not rejected:
            outcome.unformatted.append(f"{relative}: no longer mix format-clean")


def check_children(
    outcome: Outcome, texts: dict[Path, str], changed: dict[Path, str], copy: Path
) -> None:
    if not changed:
        return
    summaries = {p: summary(t, p) for p, t in texts.items()}
    known = started_before(summaries, copy)
    added_names: Counter[str] = Counter()
    for path, after in changed.items():
        for where, name, ids in added_children(path, texts[path], after, copy):
            if name is None:
                continue
            added_names[name] += 1
            if name in known:
                outcome.duplicates.append(f"{where}: {name} is already started")
            elif ids.count(name) > 1:
                outcome.duplicates.append(f"{where}: {name} twice in its list")
            elif added_names[name] > 1:
                outcome.duplicates.append(f"{where}: {name} added again")


# -- report ------------------------------------------------------------------------------


def table(outcomes: list[Outcome]) -> str:
    rows = [
        (
            "project",
            "files changed",
            "findings fixed",
            "parse failures",
            "duplicate children",
            "format-clean files left unformatted",
        )
    ]
    rows += [
        (
            o.project + (" (tool failed)" if o.tool_failure else ""),
            str(o.files_changed),
            str(o.fixes),
            str(len(o.parse_failures)),
            str(len(o.duplicates)),
            str(len(o.unformatted)),
        )
        for o in outcomes
    ]
    rows.append(
        (
            f"total ({len(outcomes)} projects)",
            str(sum(o.files_changed for o in outcomes)),
            str(sum(o.fixes for o in outcomes)),
            str(sum(len(o.parse_failures) for o in outcomes)),
            str(sum(len(o.duplicates) for o in outcomes)),
            str(sum(len(o.unformatted) for o in outcomes)),
        )
    )
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=Path("/work/corpus"))
    parser.add_argument(
        "--half",
        choices=["both", *corpus.halves()],
        default="both",
        help="both (the default): the tuning and the review half; the holdout, kept for a blind "
        "review, only when asked for",
    )
    parser.add_argument("--only", nargs="*", default=[], help="folder names (owner+name)")
    args = parser.parse_args(argv)
    outcomes = []
    halves = ("tuning", "review") if args.half == "both" else (args.half,)
    for project in [p for half in halves for p in corpus.projects(half)]:
        name = corpus.folder_name(project)
        if args.only and name not in args.only:
            continue
        folder = args.dest / name
        if not folder.is_dir():
            print(f"{name}: not checked out in {args.dest}", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix="fixcheck-") as scratch:
            outcome = check_project(folder, Path(scratch))
        outcomes.append(outcome)
        state = "FAILED" if outcome.failed else "ok"
        print(
            f"{name}: {outcome.files_changed} files, {outcome.fixes} fixes, "
            f"{outcome.seconds:.0f} s, {state}",
            file=sys.stderr,
            flush=True,
        )
    print(table(outcomes))
    for outcome in outcomes:
        problems = [outcome.tool_failure, *outcome.parse_failures, *outcome.duplicates]
        for problem in [*problems, *outcome.unformatted]:
            if problem:
                print(f"{outcome.project}: {problem}")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
