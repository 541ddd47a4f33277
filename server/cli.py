"""The `otp-thinking` command: `check`, `rules`, `explain` and `lsp`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from otp_thinking import __version__
from otp_thinking.batch import Progress, check_files, configure_logging, default_jobs
from otp_thinking.files import SKIPPED_DIRS, walk_elixir
from otp_thinking.findings import SEVERITIES
from otp_thinking.output import (
    Located,
    TextLines,
    render_github,
    render_json,
    render_statistics,
    render_text,
    statistics,
    summary,
)
from otp_thinking.workspace import Workspace, normal
from otp_thinking.writing import NotRegularError, read_regular

if TYPE_CHECKING:  # the rules, fixes and baselines are imported by the runs that use them
    from otp_thinking.findings import Finding
    from otp_thinking.fixing import FixRun, Skipped
    from otp_thinking.rule import Rule

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
PROGRESS_AFTER = 1.0  # seconds before a progress bar appears: short runs stay quiet


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) != "check":  # check: when it first analyses a file
        configure_logging()
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if sys.stdout is None:
        print("otp-thinking: standard output is closed", file=sys.stderr)
        return EXIT_USAGE
    try:
        code = int(args.run(args))
        if not sys.stdout.closed:  # the language server closes it when it exits
            sys.stdout.flush()
        return code
    except BrokenPipeError:  # the reader went away (`| head`): nothing to tell it
        _discard_stdout()
        return EXIT_USAGE
    except OSError as error:  # stdout on a full disk, or a file that cannot be written
        _discard_stdout()
        what = error.filename or "the output"
        print(f"otp-thinking: cannot write {what} ({error.strerror or error})", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so output still buffered cannot fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, with the terminal's width found as `shutil.get_terminal_size`
    finds it: argparse makes a formatter for every argument added, and its own imports
    shutil (and the compression modules shutil imports) for the width, on every run."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otp-thinking",
        description="OTP design advice for Elixir code.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"otp-thinking {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check", formatter_class=_Formatter, help="check Elixir files and folders"
    )
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    check.add_argument("--format", choices=["text", "json", "sarif", "github"], default="text")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes")
    check.add_argument("--diff", action="store_true", help="show what --fix would change")
    check.add_argument(
        "--select",
        type=_codes,
        default=[],
        metavar="CODES",
        help="only these rules: comma-separated codes, code prefixes (OTP1) or names, any case; "
        "a preview rule runs when named by code or name",
    )
    check.add_argument("--ignore", type=_codes, default=[], metavar="CODES", help="not these rules")
    check.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="warning",
        metavar="SEVERITY",
        help="exit 1 when a finding is at least this severe: error, warning (the default), "
        "information or hint",
    )
    check.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default="hint",
        metavar="SEVERITY",
        help="print only findings at least this severe (default: hint, every finding)",
    )
    check.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes to check with (0: one per CPU; default: one per CPU on large trees, "
        "one on small ones); --fix and --diff use one",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the cache (.otp-thinking-cache/ in the project)",
    )
    check.add_argument(
        "--statistics", action="store_true", help="print how many findings each rule has"
    )
    recorded = check.add_mutually_exclusive_group()
    recorded.add_argument(
        "--baseline", type=Path, metavar="FILE", help="report only findings FILE does not hold"
    )
    recorded.add_argument(
        "--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE"
    )
    check.set_defaults(run=run_check)

    rules = commands.add_parser("rules", formatter_class=_Formatter, help="list the rule catalog")
    rules.set_defaults(run=run_rules)

    explain = commands.add_parser(
        "explain", formatter_class=_Formatter, help="print a rule's documentation"
    )
    explain.add_argument("rule", metavar="CODE|NAME")
    explain.set_defaults(run=run_explain)

    lsp = commands.add_parser(
        "lsp", formatter_class=_Formatter, help="run the language server on stdio"
    )
    lsp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    lsp.set_defaults(run=run_lsp)
    return parser


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def _jobs(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError("takes a whole number (0: one per CPU)")
    return int(value) or default_jobs()


# -- check ---------------------------------------------------------------------------


@dataclass
class CheckRun:
    workspace: Workspace = field(default_factory=Workspace)
    located: list[Located] = field(default_factory=list)
    problems: int = 0
    """Files that could not be read (an I/O error, not a file skipped as binary): exit 2."""
    fixed: dict[str, int] = field(default_factory=dict)
    printed: set[str] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)
    """Real paths of the checked paths and their projects: fixes write nowhere else."""
    errors: int = 0
    """Files that could not be written (or output that could not be): exit 2."""
    fixes: FixRun | None = None

    def tell(self, messages: Sequence[str]) -> None:
        """Messages for stderr, each once (several processes may find the same problem)."""
        for message in messages:
            if message not in self.printed:
                self.printed.add(message)
                line = (
                    message if message.startswith("otp-thinking: ") else f"otp-thinking: {message}"
                )
                print(line, file=sys.stderr)


def run_check(args: argparse.Namespace) -> int:
    unknown = [s for s in [*args.select, *args.ignore] if not _known_selector(s)]
    if unknown:
        print(f"otp-thinking: unknown rule code or name: {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    if args.diff and args.format != "text":
        print(
            f"otp-thinking: --diff prints a unified diff; it does not combine with --format "
            f"{args.format}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        for path in missing:
            print(f"otp-thinking: {path}: no such file or directory", file=sys.stderr)
        return EXIT_USAGE
    if args.statistics and args.format in ("sarif", "github"):
        print("otp-thinking: --statistics prints text or json, not " + args.format, file=sys.stderr)
        return EXIT_USAGE
    baseline = None
    if args.baseline:
        from otp_thinking.baseline import BaselineError, read_baseline

        try:
            baseline = read_baseline(args.baseline)
        except BaselineError as error:
            print(f"otp-thinking: {error}", file=sys.stderr)
            return EXIT_USAGE
    run = CheckRun()
    if args.jobs is not None and args.jobs > default_jobs():
        run.tell(
            [f"--jobs {args.jobs} is more than the {default_jobs()} CPUs; using {default_jobs()}"]
        )
        args.jobs = default_jobs()
    run.workspace.report_config_problems = run.tell
    real_paths: dict[str, str] = {}
    files = list(iter_elixir_files(args.paths, run.workspace, real_paths))
    if args.fix or args.diff:
        run.roots = _checked_roots(list(args.paths))
        before = _count_by_path(run, files, args)
        _fix_files(run, files, args)
        run.fixed = _fixed_counts(before, run.located)
    else:
        _check_all(run, files, args, real_paths=real_paths)
    if args.write_baseline:
        from otp_thinking.baseline import write_baseline

        try:
            write_baseline(args.write_baseline, run.located)
        except OSError as error:
            reason = error.strerror or str(error)
            print(
                f"otp-thinking: {args.write_baseline}: cannot be written ({reason})",
                file=sys.stderr,
            )
            return EXIT_USAGE
        count = len(run.located)
        print(
            f"Recorded {count} finding{'s' if count != 1 else ''} in {args.write_baseline}",
            file=sys.stderr,
        )
        return EXIT_CLEAN
    if baseline is not None:
        run.located = baseline.new_findings(run.located, args.baseline.resolve().parent)
    return _report(run, args)


def _check_all(
    run: CheckRun,
    files: list[str],
    args: argparse.Namespace,
    progress: bool = True,
    real_paths: dict[str, str] | None = None,
) -> None:
    """Every file at once: the project index built once, ``--jobs`` processes."""
    results = check_files(
        files,
        read=_read,
        base_config=run.workspace.base_config,
        select=args.select,
        ignore=args.ignore,
        jobs=args.jobs,
        progress=_progress_bar() if progress else None,
        cache=not args.no_cache,
        real_paths=real_paths,
    )
    for result in results:
        run.tell(result.messages)
        if result.text is None:
            run.problems += any(f": {UNREADABLE} (" in m for m in result.messages)
            continue
        lines = TextLines(result.text)
        run.located.extend(Located(result.path, lines, f) for f in result.findings)


def _checked_roots(paths: list[str]) -> list[str]:
    """The real paths of the checked files and folders and of the projects they are in (a fix
    may add a child to the project's application file)."""
    from otp_thinking.project import find_root
    from otp_thinking.writing import real_roots

    roots = set(real_roots(paths))
    for path in paths:
        root = find_root(Path(path))
        if root is not None:
            roots.add(os.path.realpath(root))
    return sorted(roots)


def _count_by_path(run: CheckRun, files: list[str], args: argparse.Namespace) -> dict[str, int]:
    """How many findings each file has before any fix (for "Fixed N": a fix can also make
    findings in other files go away, such as a supervisor started for several callers)."""
    counting = CheckRun()
    counting.workspace.report_config_problems = lambda problems: None
    counting.tell = lambda messages: None  # type: ignore[method-assign]  # said once, later
    _check_all(counting, files, args, progress=False)
    return Counter(item.path for item in counting.located)


def _fixed_counts(before: dict[str, int], remaining: list[Located]) -> dict[str, int]:
    left = Counter(item.path for item in remaining)
    return {path: count - left[path] for path, count in before.items() if count > left[path]}


def _progress_bar() -> Progress | None:
    """A bar on stderr when it is a terminal and the run takes more than a moment."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()
    shown = [False]

    def show(done: int, total: int, what: str) -> None:
        if not shown[0] and time.monotonic() - started < PROGRESS_AFTER:
            return
        shown[0] = True
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\r\033[K" if done >= total else ""
        sys.stderr.write(f"\r[{bar}] {done}/{total} files {what}{end}")
        sys.stderr.flush()

    return Progress(show)


def _known_selector(selector: str) -> bool:
    from otp_thinking.registry import all_rules

    return any(rule.matches_selector(selector) for rule in all_rules())


def iter_elixir_files(
    paths: Sequence[str], workspace: Workspace, real_paths: dict[str, str] | None = None
) -> Iterator[str]:
    """Files named directly, and `.ex`/`.exs` files below folders (skipping deps, _build…);
    each one's real path goes into ``real_paths`` when given."""
    seen: set[str] = set()
    for top in paths:
        if os.path.isfile(top):
            candidates: Iterator[tuple[str, str]] = iter([(top, os.path.realpath(top))])
        else:
            candidates = _walk(top)
        for path, real in candidates:
            if real in seen or workspace.excluded(path):
                continue
            seen.add(real)
            if real_paths is not None:
                real_paths[path] = real
            yield path


def _walk(top: str) -> Iterator[tuple[str, str]]:
    def unreadable(error: OSError) -> None:
        folder = str(error.filename).removeprefix("./")
        message = f"{folder}: cannot be read ({error.strerror}); skipped"
        print(f"otp-thinking: {message}", file=sys.stderr)

    found = walk_elixir(top, SKIPPED_DIRS.__contains__, follow_links=True, unreadable=unreadable)
    for path, real in found:
        yield (path.removeprefix("./") if top in (".", "./") else path), real


UNREADABLE = "cannot be read"
"""In the message for a file that could not be read: an I/O error, so the run exits 2."""


def _read(path: str) -> str | None:
    """A source file's exact text; None (and a message on stderr) when it is skipped."""
    try:
        data = read_regular(path)[0]
    except NotRegularError:
        print(f"otp-thinking: {path}: not a regular file; skipped", file=sys.stderr)
        return None
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"otp-thinking: {path}: {UNREADABLE} ({reason}); skipped", file=sys.stderr)
        return None
    if b"\0" in data[:8192]:
        print(f"otp-thinking: {path}: binary file, not Elixir source; skipped", file=sys.stderr)
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        print(f"otp-thinking: {path}: not UTF-8 text ({error.reason}); skipped", file=sys.stderr)
        return None


def _fix_files(run: CheckRun, files: list[str], args: argparse.Namespace) -> None:
    """Fix every file together over the workspace overlay (see `fixing.fix_files`): each file
    read once, the project kept current as fixes land, then what remains reported."""
    from otp_thinking.engine import analyze, enabled_rules
    from otp_thinking.fixing import fix_files

    configure_logging()
    from otp_thinking.source import Source
    from otp_thinking.suppression import unknown_rule_messages

    workspace = run.workspace
    readable = []
    for path in files:
        text = _read(path)
        if text is None:
            run.problems += not os.path.exists(path) or not os.access(path, os.R_OK)
            continue
        workspace.overlay[normal(path)] = text  # the text read is the one fixed and compared
        readable.append(path)
    rules: dict[int, list[Rule]] = {}

    def findings_for(path: str, text: str) -> list[Finding]:
        config = workspace.config_for(path)
        chosen = rules.setdefault(id(config), enabled_rules(config, args.select, args.ignore))
        project = workspace.project_for(path)
        return analyze(Source(text, path), config=config, project=project, rules=chosen)

    result = fix_files(
        workspace,
        readable,
        findings_for,
        unsafe=args.unsafe_fixes,
        editable=lambda path: not workspace.excluded(path) and _in_tree(run, path),
    )
    run.fixes = result
    for skipped in result.skipped:
        run.tell([_skipped_message(run, skipped)])
    for path, applied in result.applied.items():
        run.fixed[path] = len(applied)
    for path in readable:
        text = workspace.overlay[normal(path)]
        if "otp-thinking:" in text:
            run.tell(unknown_rule_messages(Source(text, path)))
        lines = TextLines(text)
        run.located.extend(Located(path, lines, f) for f in result.findings.get(path, []))


def _in_tree(run: CheckRun, path: str) -> bool:
    """Fixes edit files whose real path is in the checked tree, never a file a symlink leads
    to elsewhere (its findings are still reported)."""
    from otp_thinking.writing import inside

    return inside(os.path.realpath(path), run.roots)


def _skipped_message(run: CheckRun, skipped: Skipped) -> str:
    blocked = os.path.relpath(skipped.blocked)
    finding = skipped.finding
    why = (
        "which [paths] exclude leaves alone"
        if _in_tree(run, skipped.blocked)
        else "which links outside the checked tree"
    )
    return f"{skipped.path}: {finding.code} not fixed: the fix edits {blocked}, {why}"


def _report(run: CheckRun, args: argparse.Namespace) -> int:
    changed = _changed_files(run)
    if args.diff:
        _print_diffs(changed)
    elif args.fix:
        _write(run, changed)
    failing = any(_at_least(item, args.fail_on) for item in run.located)
    hidden = sum(1 for item in run.located if not _at_least(item, args.min_severity))
    run.located = [item for item in run.located if _at_least(item, args.min_severity)]

    texts: dict[str, TextLines | None] = {}

    def source_of(path: str) -> TextLines | None:
        if path not in texts:
            text = run.workspace.read(path)
            texts[path] = TextLines(text) if text is not None else None
        return texts[path]

    if args.statistics:
        if args.format == "json":
            print(json.dumps(statistics(run.located, args.unsafe_fixes), indent=2))
        else:
            if run.located:
                print(render_statistics(run.located, args.unsafe_fixes))
            print(summary(run.located, args.unsafe_fixes, hidden, args.min_severity))
    elif args.format == "json":
        print(render_json(run.located, source_of))
    elif args.format == "sarif":
        from otp_thinking.registry import all_rules
        from otp_thinking.sarif import render_sarif

        print(render_sarif(run.located, all_rules(), source_of))
    elif args.format == "github":
        if run.located:
            print(render_github(run.located))
    else:
        if run.located:
            print(render_text(run.located, args.unsafe_fixes))
        print(summary(run.located, args.unsafe_fixes, hidden, args.min_severity))
    if run.problems or run.errors:
        return EXIT_USAGE
    if failing or (args.diff and changed):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _at_least(item: Located, severity: str) -> bool:
    """Errors come first in SEVERITIES: a finding is at least as severe as one at its right."""
    return SEVERITIES.index(item.finding.severity) <= SEVERITIES.index(severity)  # type: ignore[arg-type]


def _changed_files(run: CheckRun) -> dict[str, tuple[str, str]]:
    """path → (text as read, fixed text) for every file the fixes changed."""
    if run.fixes is None:
        return {}
    return {path: (change.before, change.after) for path, change in run.fixes.changes.items()}


def _print_diffs(changed: dict[str, tuple[str, str]]) -> None:
    """A patch `git apply` accepts, for exactly the files that change."""
    sys.stdout.flush()
    for path, (before, after) in sorted(changed.items()):
        shown = Path(os.path.relpath(path)).as_posix() if os.path.isabs(path) else path
        patch = unified_diff(before, after, shown)
        sys.stdout.buffer.write(patch.encode("utf-8"))
    sys.stdout.buffer.flush()


def unified_diff(before: str, after: str, path: str) -> str:
    """One file's patch. Lines end at LF only, as git splits them (a CRLF line's CR is part of
    the line; a lone CR in a string literal does not end one); a last line without a newline
    is marked the way git marks it."""
    import difflib  # only --diff prints diffs

    lines = difflib.unified_diff(
        _git_lines(before), _git_lines(after), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _git_lines(text: str) -> list[str]:
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def _write(run: CheckRun, changed: dict[str, tuple[str, str]]) -> None:
    """Write each changed file atomically (see `writing`), except files changed on disk since
    they were read (their fix would be of the old text) and the files whose fixes rely on one
    of those; say per file what was not written and why; go on after a failure."""
    from otp_thinking.writing import read_exact, write_fixed

    moved = {path for path, (before, _after) in changed.items() if read_exact(path) != before}
    held = run.fixes.held_back(moved) if run.fixes is not None else moved
    results = []
    for path in sorted(held):
        if path in moved:
            results.append(write_fixed(path, *changed[path], run.roots))
        elif path in changed:
            needed = sorted(os.path.relpath(p) for p in run.fixes.needs[path] & held)  # type: ignore[union-attr]
            run.tell([f"{os.path.relpath(path)}: not written (its fixes need {', '.join(needed)})"])
    written = {}
    for path in _needed_first(run, changed):
        if path not in held:
            results.append(write_fixed(path, *changed[path], run.roots))
    for result in results:
        if result.failed:
            shown = os.path.relpath(result.path) if os.path.isabs(result.path) else result.path
            print(f"otp-thinking: {shown}: {result.reason}", file=sys.stderr)
        written[normal(result.path)] = result.written
    all_written = all(written.values())
    for path, count in run.fixed.items():
        # a finding fixed by edits elsewhere only (a child added to the application) is
        # reported when every file was written: its fix cannot then have been left out
        if written.get(normal(path), all_written):
            print(f"Fixed {count} finding{'s' if count != 1 else ''} in {path}", file=sys.stderr)
    failed = [r for r in results if r.failed]
    if failed or held - moved:
        done = sum(r.written for r in results)
        print(
            f"otp-thinking: {done} file{'s' if done != 1 else ''} written, "
            f"{len(changed) - done} not written",
            file=sys.stderr,
        )
    run.errors += sum(r.status != "outside" for r in failed)


def _needed_first(run: CheckRun, changed: dict[str, tuple[str, str]]) -> list[str]:
    """The changed files in the order to write them: first those other fixes rely on (the
    application a child was added to), then the rest, each group by path. A run stopped
    half-way (killed, the disk full) then never leaves a call to a supervisor whose child
    is not written, and running the fix again ends where one uninterrupted run ends."""
    needs = run.fixes.needs if run.fixes is not None else {}
    needed = set().union(*needs.values()) if needs else set()
    return sorted(changed, key=lambda path: (normal(path) not in needed, path))


# -- rules, explain, lsp --------------------------------------------------------------


def run_rules(args: argparse.Namespace) -> int:
    from otp_thinking.registry import all_rules

    for rule in all_rules():
        print(_catalog_line(rule))
    if any(rule.preview for rule in all_rules()):
        print(
            "\npreview: off unless `[rules] preview = true`, or the rule's code or name is set "
            "in [rules] or given to --select"
        )
    return EXIT_CLEAN


def _catalog_line(rule: Rule) -> str:
    fix = "fix" if rule.fixable else "   "
    summary = f"(preview) {rule.summary}" if rule.preview else rule.summary
    return f"{rule.code}  {rule.name:<30} {rule.severity:<12} {fix}  {summary}"


def run_explain(args: argparse.Namespace) -> int:
    from otp_thinking.registry import find_rule
    from otp_thinking.rule_docs import full_document

    rule = find_rule(args.rule)
    if rule is None:
        print(f"otp-thinking: no rule {args.rule!r}; see `otp-thinking rules`", file=sys.stderr)
        return EXIT_USAGE
    print(full_document(rule), end="")
    return EXIT_CLEAN


def run_lsp(args: argparse.Namespace) -> int:
    from otp_thinking.lsp import serve  # the server's imports cost start-up time: load on demand

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            print("otp-thinking: --tcp takes HOST:PORT, the port from 1 to 65535", file=sys.stderr)
            return EXIT_USAGE
        try:
            return serve(tcp=(host or "127.0.0.1", int(port)))
        except OSError as error:
            reason = error.strerror or str(error)
            print(f"otp-thinking: cannot listen on {args.tcp} ({reason})", file=sys.stderr)
            return EXIT_USAGE
    return serve()
