"""The pinned review corpus: check it out, run the tool on it, sample findings, replay verdicts.

    python bench/precision/corpus.py checkout --mirrors DIR --dest DIR [--half HALF]
    python bench/precision/corpus.py run --dest DIR --half review --out findings.json
    python bench/precision/corpus.py sample findings.json --out sample.json [--per-rule 12]
    python bench/precision/corpus.py sheet sample.json --out sheet.md
    python bench/precision/corpus.py record sample.json judged.jsonl [--again]
    python bench/precision/corpus.py replay --dest DIR [--half review] [--latest]
    python bench/precision/corpus.py report findings.json --lines N [--latest]
    python bench/precision/corpus.py recall findings.json [more.json ...] [--problems CSV]

`corpus.json` pins every project by commit and puts it in the tuning or the review half (a
seeded shuffle, seed recorded there), or in the holdout: projects added after the rules were
tuned on the tuning half and judged on the review half, whose findings nobody tuning has seen
(``holdout2`` to ``holdout15``: further such sets, each added once the one before had been
seen). ``HALF`` is ``tuning``, ``review``, ``holdout``, ``holdout2`` … ``holdout15`` or ``all``.
Rules are tuned on the tuning half only; the review half and the holdout are what a blind
reviewer judges (see docs/precision.md). `verdicts.csv` keeps each verdict as
data: the first judgment of a place, which later ones never overwrite. `rejudged.csv` keeps
later judgments of places judged before (`record --again`: a finding still firing, judged
afresh with the message the tool gives it now); `--latest` reads each place's newest verdict
from it. `replay` reruns the tool and prints, per rule, the verdict counts, the judged false
positives that still fire and the true positives that no longer do. `missed.csv` keeps the
problems reviewers saw that nothing flagged, each with the rule whose kind it is (``-`` for
kinds no rule has); `problems.csv` the problems recall reviewers found by reading a set's
code without seeing any finding (the third holdout; `problems4.csv` to `problems7.csv` for the
fourth to seventh); `recall` says which of either list the findings of a `run` flag.

Projects come from git mirrors (``DIR/<owner>+<name>/repo``, bare repositories holding the
pinned commit); nothing of theirs is ever committed here.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.json"
VERDICTS = HERE / "verdicts.csv"
REJUDGED = HERE / "rejudged.csv"
SAMPLE_SEED = 7
ELIXIR = [":(glob)**/*.ex", ":(glob)**/*.exs"]
"""Only Elixir files are unpacked (mirrors lack files of 4 MiB and more, which breaks a full
archive of some projects; the tool reads nothing else)."""
MISSED = HERE / "missed.csv"
PROBLEMS = HERE / "problems.csv"
VERDICT_FIELDS = ["project", "commit", "path", "line", "code", "severity", "verdict", "reason"]


def projects(half: str | None = None) -> list[dict[str, str]]:
    chosen = json.loads(CORPUS.read_text())["projects"]
    return [p for p in chosen if half in (None, "all", p["half"])]


def halves() -> list[str]:
    """The halves of the corpus, in the order the file first names them."""
    return list(dict.fromkeys(p["half"] for p in projects()))


def folder_name(project: dict[str, str]) -> str:
    return project["repo"].replace("/", "+")


def checkout(mirrors: Path, dest: Path, half: str | None) -> None:
    """Unpack each project's pinned commit into ``dest/<owner>+<name>`` (once)."""
    dest.mkdir(parents=True, exist_ok=True)
    for project in projects(half):
        target = dest / folder_name(project)
        if (target / ".pinned").exists():
            continue
        git_dir = mirrors / folder_name(project) / "repo"
        target.mkdir(exist_ok=True)
        with tempfile.TemporaryFile() as archive:
            subprocess.run(
                ["git", "--git-dir", str(git_dir), "archive", project["commit"], "--", *ELIXIR],
                stdout=archive,
                check=True,
            )
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(target, filter="data")
        (target / ".pinned").write_text(project["commit"] + "\n")
        print(f"checked out {project['repo']} at {project['commit'][:12]}", file=sys.stderr)


def run_tool(dest: Path, half: str | None, extra: list[str]) -> list[dict]:
    """Every finding of ``otp-thinking check`` on each project, tagged with the project."""
    found: list[dict] = []
    for project in projects(half):
        folder = dest / folder_name(project)
        result = subprocess.run(
            [sys.executable, "-m", "otp_thinking", "check", ".", "--format", "json", *extra],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if result.returncode not in (0, 1):
            raise SystemExit(f"check failed on {project['repo']}:\n{result.stderr}")
        for finding in json.loads(result.stdout or "[]"):
            finding["project"] = project["repo"]
            finding["commit"] = project["commit"]
            found.append(finding)
    return found


def count_lines(dest: Path, half: str | None) -> int:
    total = 0
    for project in projects(half):
        for path in (dest / folder_name(project)).rglob("*.ex*"):
            if not any(part in {"deps", "_build", "node_modules"} for part in path.parts):
                total += path.read_bytes().count(b"\n")
    return total


def sample(found: list[dict], per_rule: int, seed: int) -> list[dict]:
    """Every finding of a rule with at most ``per_rule``, else ``per_rule`` taken round-robin
    over the projects in a shuffled order (seeded), so no project dominates a rule's sample."""
    rng = random.Random(seed)
    by_rule: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for finding in found:
        by_rule[finding["code"]][finding["project"]].append(finding)
    chosen: list[dict] = []
    for code in sorted(by_rule):
        per_project = by_rule[code]
        if sum(len(v) for v in per_project.values()) <= per_rule:
            chosen.extend(f for v in per_project.values() for f in v)
            continue
        order = sorted(per_project)
        rng.shuffle(order)
        queues = {name: rng.sample(per_project[name], len(per_project[name])) for name in order}
        picked: list[dict] = []
        while len(picked) < per_rule:
            for name in order:
                if queues[name] and len(picked) < per_rule:
                    picked.append(queues[name].pop())
        chosen.extend(picked)
    return chosen


def sheet(chosen: list[dict]) -> str:
    """The sampled findings as a reviewer meets them: where, code, severity, message, and the
    fix's title, safety and edits; numbered so verdicts can refer to them."""
    parts = []
    for number, finding in enumerate(chosen, start=1):
        where = f"{folder_name({'repo': finding['project']})}/{finding['path'].removeprefix('./')}"
        parts.append(
            f"### {number}. {finding['code']} {finding['name']} ({finding['severity']})\n"
            f"`{where}:{finding['line']}:{finding['column']}`\n\n> {finding['message']}\n"
        )
        fix = finding.get("fix")
        if fix:
            parts.append(f"Fix ({fix['safety']}): {fix['title']}\n")
            for edit in fix["edits"]:
                target = edit["path"] or finding["path"]
                span = f"{edit['line']}:{edit['column']}-{edit['end_line']}:{edit['end_column']}"
                parts.append(f"- {target} {span} becomes:\n```elixir\n{edit['new_text']}\n```")
        parts.append("")
    return "\n".join(parts)


def record(chosen: list[dict], judged_lines: list[str], again: bool = False) -> int:
    """Append the reviewer's verdicts (JSON lines ``{"id", "verdict", "reason"}``, ``id`` the
    number in the sheet) to verdicts.csv, keyed by project, commit, path, line and code; a
    place already judged keeps its first verdict. With ``again``, to rejudged.csv, every one:
    later judgments of places judged before."""
    target = REJUDGED if again else VERDICTS
    rows = _read(target)
    known = set() if again else {finding_key(row) for row in rows}
    added = 0
    for line in judged_lines:
        if not line.strip():
            continue
        judged = json.loads(line)
        finding = chosen[int(judged["id"]) - 1]
        verdict = str(judged["verdict"]).upper()
        if verdict not in {"TP", "DEB", "FP"}:
            raise SystemExit(f"verdict must be TP, DEB or FP: {line}")
        row = {
            "project": finding["project"],
            "commit": finding["commit"],
            "path": finding["path"].removeprefix("./"),
            "line": str(finding["line"]),
            "code": finding["code"],
            "severity": finding["severity"],
            "verdict": verdict,
            "reason": " ".join(str(judged["reason"]).split()),
        }
        if finding_key(row) not in known:
            rows.append(row)
            known.add(finding_key(row))
            added += 1
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=VERDICT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{added} verdicts recorded in {target.name} ({len(rows)} in all)", file=sys.stderr)
    return 0


def finding_key(row: dict) -> tuple[str, str, int, str]:
    return (row["project"], row["path"].removeprefix("./"), int(row["line"]), row["code"])


def read_verdicts(latest: bool = False) -> list[dict[str, str]]:
    """Every place's first verdict; with ``latest``, its newest (rejudged.csv over it)."""
    first = _read(VERDICTS)
    if not latest:
        return first
    newest = {finding_key(row): row for row in first}
    for row in _read(REJUDGED):
        newest[finding_key(row)] = row
    return list(newest.values())


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def replay(dest: Path, half: str | None, extra: list[str], latest: bool = False) -> int:
    """Rerun the tool and compare with the recorded verdicts (each place's newest with
    ``latest``), per rule."""
    chosen = read_verdicts(latest)
    verdicts = [v for v in chosen if half in (None, "all") or _half_of(v) == half]
    now = {finding_key(f) for f in run_tool(dest, half, extra)}
    table: dict[str, Counter] = defaultdict(Counter)
    still_fp, lost_tp = [], []
    for verdict in verdicts:
        fires = finding_key(verdict) in now
        table[verdict["code"]][verdict["verdict"]] += 1
        table[verdict["code"]]["fires " + verdict["verdict"]] += fires
        if verdict["verdict"] == "FP" and fires:
            still_fp.append(verdict)
        if verdict["verdict"] == "TP" and not fires:
            lost_tp.append(verdict)
    print(f"{'rule':8} {'judged':>6} {'TP':>4} {'DEB':>4} {'FP':>4}   still firing: TP DEB FP")
    for code in sorted(table):
        row = table[code]
        judged = row["TP"] + row["DEB"] + row["FP"]
        print(
            f"{code:8} {judged:6} {row['TP']:4} {row['DEB']:4} {row['FP']:4}"
            f"   {row['fires TP']:16} {row['fires DEB']:3} {row['fires FP']:2}"
        )
    for label, rows in (("judged FP still firing", still_fp), ("judged TP lost", lost_tp)):
        print(f"\n{label}: {len(rows)}")
        for v in rows:
            print(f"  {v['code']} {v['project']} {v['path']}:{v['line']}  {v['reason']}")
    return 0


def report(found: list[dict], lines: int, latest: bool = False) -> str:
    """A markdown table, per rule, of the verdicts on the findings in ``found`` (a `run`
    output): how many it made, how many were judged, and TP / DEB / FP among those (each
    place's newest verdict with ``latest``); then findings per 1,000 lines by severity."""
    verdicts = {finding_key(v): v["verdict"] for v in read_verdicts(latest)}
    made: Counter = Counter()
    judged: dict[str, Counter] = defaultdict(Counter)
    severities: dict[str, set[str]] = defaultdict(set)
    for finding in found:
        made[finding["code"]] += 1
        severities[finding["code"]].add(finding["severity"])
        verdict = verdicts.get(finding_key(finding))
        if verdict:
            judged[finding["code"]][verdict] += 1
    rows = [
        "| rule | severity | findings | judged | TP | DEB | FP | precision | wrong |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for code in sorted(made):
        row = judged[code]
        total = sum(row.values())
        used = "/".join(sorted(severities[code]))
        rows.append(
            f"| {code} | {used} | {made[code]} | {total} | {row['TP']} | "
            f"{row['DEB']} | {row['FP']} | {_percent(row['TP'], total)} | "
            f"{_percent(row['FP'], total)} |"
        )
    by_severity = Counter(f["severity"] for f in found)
    rows += ["", "| severity | findings | per 1,000 lines |", "|---|---|---|"]
    for severity in ("error", "warning", "information", "hint"):
        count = by_severity[severity]
        rows.append(f"| {severity} | {count} | {1000 * count / max(lines, 1):.3f} |")
    return "\n".join(rows)


def recall(found: list[dict], problems: Path = MISSED) -> str:
    """Which listed problems of a rule's kind a finding of that rule flags, per rule: at the
    problem's lines, or anywhere in its file (a finding on the call where the reviewer named
    the clause that mishandles it)."""
    with problems.open(newline="") as handle:
        listed_problems = list(csv.DictReader(handle))
    at = defaultdict(set)
    for finding in found:
        at[(finding["project"], finding["path"].removeprefix("./"), finding["code"])].add(
            int(finding["line"])
        )
    listed: Counter = Counter()
    at_lines: Counter = Counter()
    in_file: Counter = Counter()
    still_missed = []
    for problem in listed_problems:
        kind = problem["kind"]
        listed[kind] += 1
        lines = at[(problem["project"], problem["path"], kind)]
        first, last = int(problem["first_line"]), int(problem["last_line"])
        at_lines[kind] += any(first <= line <= last for line in lines)
        in_file[kind] += bool(lines)
        if not lines and kind != "-":
            still_missed.append(problem)
    rows = ["| kind | listed | flagged at its lines | in its file |", "|---|---|---|---|"]
    rows += [
        f"| {k} | {listed[k]} | {at_lines[k]} | {in_file[k]} |" for k in sorted(listed) if k != "-"
    ]
    ruled = sum(n for k, n in listed.items() if k != "-")
    rows.append(
        f"| all rules' kinds | {ruled} | {sum(at_lines.values())} | {sum(in_file.values())} |"
    )
    rows.append(f"| kinds no rule has | {listed['-']} | – | – |")
    rows += ["", "Of a rule's kind, nothing of that rule in the file:"]
    rows += [
        f"- {p['kind']} {p['project']} {p['path']}:{p['first_line']} {p['problem']}"
        for p in still_missed
    ]
    return "\n".join(rows)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def _half_of(verdict: dict[str, str]) -> str:
    return next((p["half"] for p in projects() if p["repo"] == verdict["project"]), "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("checkout")
    get.add_argument("--mirrors", type=Path, required=True)
    get.add_argument("--dest", type=Path, required=True)
    get.add_argument("--half", default="all")
    run = commands.add_parser("run")
    run.add_argument("--dest", type=Path, required=True)
    run.add_argument("--half", default="tuning")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("extra", nargs="*", help="more arguments for check (after --)")
    pick = commands.add_parser("sample")
    pick.add_argument("findings", type=Path)
    pick.add_argument("--out", type=Path, required=True)
    pick.add_argument("--per-rule", type=int, default=12)
    pick.add_argument("--seed", type=int, default=SAMPLE_SEED)
    show = commands.add_parser("sheet")
    show.add_argument("sample", type=Path)
    show.add_argument("--out", type=Path, required=True)
    keep = commands.add_parser("record")
    keep.add_argument("sample", type=Path)
    keep.add_argument("judged", type=Path)
    keep.add_argument("--again", action="store_true", help="later judgments: rejudged.csv")
    table = commands.add_parser("report")
    table.add_argument("findings", type=Path)
    table.add_argument("--lines", type=int, required=True)
    table.add_argument("--latest", action="store_true", help="each place's newest verdict")
    back = commands.add_parser("recall")
    back.add_argument("findings", type=Path, nargs="+")
    back.add_argument("--problems", type=Path, default=MISSED)
    again = commands.add_parser("replay")
    again.add_argument("--dest", type=Path, required=True)
    again.add_argument("--half", default="review")
    again.add_argument("--latest", action="store_true", help="each place's newest verdict")
    again.add_argument("extra", nargs="*")
    args = parser.parse_args()
    if args.command == "checkout":
        checkout(args.mirrors, args.dest, args.half)
    elif args.command == "run":
        found = run_tool(args.dest, args.half, args.extra)
        args.out.write_text(json.dumps(found, indent=1))
        lines = count_lines(args.dest, args.half)
        print(f"{len(found)} findings in {lines} lines of the {args.half} half", file=sys.stderr)
        counts = Counter((f["code"], f["severity"]) for f in found)
        for (code, severity), n in sorted(counts.items()):
            print(f"  {code} {severity:12} {n:5}  {1000 * n / max(lines, 1):.3f}/kloc")
    elif args.command == "recall":
        found = [f for path in args.findings for f in json.loads(path.read_text())]
        print(recall(found, args.problems))
    elif args.command == "sample":
        chosen = sample(json.loads(args.findings.read_text()), args.per_rule, args.seed)
        args.out.write_text(json.dumps(chosen, indent=1))
        print(f"{len(chosen)} findings sampled", file=sys.stderr)
    elif args.command == "sheet":
        args.out.write_text(sheet(json.loads(args.sample.read_text())))
    elif args.command == "record":
        chosen = json.loads(args.sample.read_text())
        return record(chosen, args.judged.read_text().splitlines(), args.again)
    elif args.command == "report":
        print(report(json.loads(args.findings.read_text()), args.lines, args.latest))
    else:
        return replay(args.dest, args.half, args.extra, args.latest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
