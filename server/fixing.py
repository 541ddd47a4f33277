"""One fixer for `check --fix`, `check --diff` and the editor's fix-all.

Fixes are applied in passes over the workspace overlay. Each pass analyses the files being
fixed against one state of the workspace, chooses the fixes whose edits (in every file they
touch) overlap no edit already chosen, applies them to the overlay and brings the project index
and applications up to date, so the next pass sees, say, the supervisor child just added.

Every edit names its file (an edit without a path belongs to the file whose finding it fixes),
so a fix that edits its own file twice (a GenServer in `application.ex` whose fix also adds a
child there) is one set of edits to one text. Each file's text lives in one place, the overlay:
it is read once, kept there, and the index is redone from it.

Fixes are chosen in path and offset order, whatever the order in which the files were named, and
every fix of a pass sees the same state: which existing supervisor or registry a fix uses never
depends on which file happened to be fixed first.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from otp_thinking.findings import Edit, Finding, Fix, apply_edits
from otp_thinking.project import defines_application
from otp_thinking.workspace import Workspace, normal

MAX_PASSES = 10

Analyze = Callable[[str, str], list[Finding]]
"""The findings of one file: (path, text) → findings."""


@dataclass(frozen=True)
class Change:
    """A file the fixes changed: the text read before any fix and the fixed text. The writer
    compares ``before`` with the disk, so a file edited meanwhile is not overwritten."""

    path: str
    before: str
    after: str


@dataclass(frozen=True)
class Skipped:
    """A fix left out because it would edit a file that fixes must not touch."""

    path: str
    finding: Finding
    blocked: str
    """The file it would have edited."""


@dataclass
class FixRun:
    changes: dict[str, Change] = field(default_factory=dict)
    """Every file whose text changed, by normalised path."""
    applied: dict[str, list[Finding]] = field(default_factory=dict)
    """The findings fixed, by the path of the file they were found in (as given)."""
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    """What remains in each file given, analysed on its fixed text against the fixed project."""
    skipped: list[Skipped] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    needs: dict[str, set[str]] = field(default_factory=dict)
    """For each file fixed (normalised), the other files its fixes edited or rely on: a call
    rewritten to use a supervisor needs the file that starts it."""

    def held_back(self, unwritable: set[str]) -> set[str]:
        """The changed files not to write when ``unwritable`` cannot be: those and, through
        `needs`, every file whose fixes rely on one of them (an added child alone is harmless;
        a call to a supervisor nobody starts is not)."""
        held = set(unwritable)
        grew = True
        while grew:
            grew = False
            for path, needed in self.needs.items():
                if path not in held and needed & held:
                    held.add(path)
                    grew = True
        return held


def applicable(finding: Finding, unsafe: bool) -> Fix | None:
    fix = finding.fix
    if fix is None or (fix.safety == "unsafe" and not unsafe):
        return None
    return fix


def fix_files(
    workspace: Workspace,
    paths: Sequence[str],
    analyze: Analyze,
    *,
    unsafe: bool = False,
    editable: Callable[[str], bool] = lambda path: True,
) -> FixRun:
    """Fix ``paths`` until no fix applies (at most MAX_PASSES passes), in ``workspace``'s
    overlay: on return the overlay holds the fixed texts and the index knows them. Fixes that
    would edit a file ``editable`` refuses are left out (`FixRun.skipped`)."""
    unique: dict[str, str] = {}
    for path in paths:
        unique.setdefault(normal(path), path)  # one file named twice is fixed once
    return _Fixer(workspace, list(unique.values()), analyze, unsafe, editable).run()


_Chosen = tuple[str, Finding, list[tuple[str, Edit]]]
"""A fix chosen: the file of its finding, the finding, and its edits by file."""


@dataclass
class _Analysed:
    text: str
    state: tuple[int, int]
    findings: list[Finding]


@dataclass
class _Fixer:
    workspace: Workspace
    paths: list[str]
    analyze: Analyze
    unsafe: bool
    editable: Callable[[str], bool]
    result: FixRun = field(default_factory=FixRun)
    before: dict[str, str] = field(default_factory=dict)
    analysed: dict[str, _Analysed] = field(default_factory=dict)
    applications_changed: int = 0
    applications: set[str] = field(default_factory=set)
    """Application files the fixes edited (normalised)."""
    _skipped: set[tuple[str, str]] = field(default_factory=set)

    def run(self) -> FixRun:
        for path in self.paths:  # every text read before the first analysis: one state for all
            self.text(path)
        for _ in range(MAX_PASSES):
            current = self.analyse_all()
            chosen = self.choose(current)
            if not chosen:
                break
            self.apply(chosen)
        self.result.findings = self.analyse_all()
        for key, before in self.before.items():
            after = self.workspace.overlay.get(key, before)
            if after != before:
                self.result.changes[key] = Change(key, before, after)
        return self.result

    # -- texts and analyses ------------------------------------------------------------

    def text(self, path: str) -> str | None:
        """The file's current text; the first read is kept in the overlay (and the index
        redone from it when the index saw another text), so every pass and every other file's
        analysis sees that one text."""
        key = normal(path)
        if key not in self.before:
            text = self.workspace.hold(path)
            if text is None:
                return None
            self.before[key] = text
        return self.workspace.overlay[key]

    @property
    def state(self) -> tuple[int, int]:
        """Changes when another file's findings may change: the index moved, or an
        application module (children, supervisors) was edited."""
        return (self.workspace.revision, self.applications_changed)

    def analyse_all(self) -> dict[str, list[Finding]]:
        current = {}
        for path in self.paths:
            text = self.text(path)
            if text is None:
                if path not in self.result.unreadable:
                    self.result.unreadable.append(path)
                continue
            known = self.analysed.get(path)
            if known is None or known.text != text or known.state != self.state:
                known = _Analysed(text, self.state, self.analyze(path, text))
                self.analysed[path] = known
            current[path] = known.findings
        return current

    # -- choosing ------------------------------------------------------------------------

    def choose(self, current: dict[str, list[Finding]]) -> list[_Chosen]:
        """Fixes that overlap none chosen before them, in path and offset order; an edit
        identical to one already chosen (two fixes adding the same child) is shared."""
        taken: dict[str, list[Edit]] = {}
        chosen: list[_Chosen] = []
        for path in sorted(current, key=normal):
            for finding in sorted(current[path], key=lambda f: (f.start, f.end, f.code)):
                fix = applicable(finding, self.unsafe)
                if fix is None:
                    continue
                edits = [_named(edit, path) for edit in fix.edits]
                blocked = next((name for name, _e in edits if not self.editable(name)), None)
                if blocked is not None:
                    self.skip(path, finding, blocked)
                    continue
                if any(self.text(name) is None for name, _edit in edits):
                    continue  # a file it edits cannot be read: half a fix would break the app
                edits = [(name, _earliest(name, edit, taken, chosen)) for name, edit in edits]
                if any(_conflicts(edit, taken.get(name, ())) for name, edit in edits):
                    continue
                for name, edit in edits:
                    if edit not in taken.setdefault(name, []):
                        taken[name].append(edit)
                chosen.append((path, finding, edits))
        return chosen

    def skip(self, path: str, finding: Finding, blocked: str) -> None:
        if (path, finding.key) not in self._skipped:
            self._skipped.add((path, finding.key))
            self.result.skipped.append(Skipped(path, finding, blocked))

    # -- applying ------------------------------------------------------------------------

    def apply(self, chosen: list[_Chosen]) -> None:
        by_file: dict[str, list[Edit]] = {}
        for path, finding, edits in chosen:
            self.result.applied.setdefault(path, []).append(finding)
            # A fix of a later pass may use a child an earlier one added: it relies on it.
            needed = {name for name, _edit in edits} | self.applications
            self.result.needs.setdefault(normal(path), set()).update(needed - {normal(path)})
            for name, edit in edits:
                if edit not in by_file.setdefault(name, []):
                    by_file[name].append(edit)
        for name, file_edits in by_file.items():
            text = self.text(name)
            if text is None:
                continue
            fixed = apply_edits(text, file_edits)
            if defines_application(text) or defines_application(fixed):
                self.applications_changed += 1
                self.applications.add(name)
            self.workspace.hold(name, fixed)


def _named(edit: Edit, path: str) -> tuple[str, Edit]:
    """The file an edit is for (normalised), and the edit within it."""
    return normal(edit.path or path), Edit(edit.start, edit.end, edit.new_text)


def _conflicts(edit: Edit, taken: Iterable[Edit]) -> bool:
    """Overlaps an edit already taken (two insertions at one place count), unless identical;
    or inserts the same text elsewhere in the file: two fixes adding one child, each before
    its own user among the children, would start it twice (the app fails to boot with a
    duplicate child). The later fix waits for the next pass, which finds the child there."""
    for other in taken:
        if other == edit:
            return False
    return any(
        edit.start < other.end
        and other.start < edit.end
        or edit.start == edit.end == other.start
        or other.start == other.end == edit.start
        or _same_insertion(edit, other)
        for other in taken
    )


def _earliest(name: str, edit: Edit, taken: dict[str, list[Edit]], chosen: list[_Chosen]) -> Edit:
    """``edit``, or the insertion of the same child a fix chosen before adds elsewhere in the
    file: both fixes share the earlier of the two. Each was placed before the first of its own
    users among the children, so the earlier one is before every user of either (a fix of
    `application.ex` adding a Task.Supervisor after the children, and a child's fix adding
    it before that child, must not leave it after the child)."""
    for other in taken.get(name, ()):
        if other == edit or not _same_insertion(edit, other):
            continue
        if other.start <= edit.start:
            return other
        if any(_conflicts(edit, [each]) for each in taken[name] if each != other):
            return edit  # it waits for the next pass, which finds the child there
        taken[name] = [edit if each == other else each for each in taken[name]]
        for i, (path, finding, edits) in enumerate(chosen):
            shared = [(n, edit if (n, e) == (name, other) else e) for n, e in edits]
            chosen[i] = (path, finding, shared)
        return edit
    return edit


def _same_insertion(edit: Edit, other: Edit) -> bool:
    """Both insert the same text, whatever the commas and line breaks around it (a child added
    in the middle of a list, or after its last element)."""
    inserted = edit.new_text.strip(" \t\r\n,")
    return (
        edit.start == edit.end
        and other.start == other.end
        and bool(inserted)
        and inserted == other.new_text.strip(" \t\r\n,")
    )


# -- minimal edits -----------------------------------------------------------------------


def minimal_edits(before: str, after: str, path: str | None = None) -> list[Edit]:
    """Edits that turn ``before`` into ``after``, one per changed run of lines, each narrowed
    to the characters that differ (what an editor shows as the change, not the whole file)."""
    old_lines = before.splitlines(keepends=True)
    new_lines = after.splitlines(keepends=True)
    old_starts = _line_starts(old_lines)
    new_starts = _line_starts(new_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = old_starts[i1], old_starts[i2]
        new = after[new_starts[j1] : new_starts[j2]]
        edits.append(Edit(start, end, new, path).narrowed(before))
    return edits


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts
