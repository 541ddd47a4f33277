"""What the project around a file starts: its application module and supervision children.

Fixes use it to name the real Task.Supervisor or Registry and, when one is missing, to add the
child to the application's children list (a second file in the same fix).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tree_sitter import Node

from otp_thinking import files, syntax
from otp_thinking.files import defines_application, root_of_folder
from otp_thinking.findings import Edit
from otp_thinking.index import ProjectIndex, build_index, short_lived_by_globs
from otp_thinking.model.summary import summarize
from otp_thinking.model.supervision import LITERAL, Child, ChildrenList, insertion_index
from otp_thinking.source import Source

ReadText = Callable[[Path], str | None]

_SKIP_DIRS = frozenset({"deps", "_build", ".git", "node_modules", ".elixir_ls", ".expert"})


@dataclass
class Application:
    """An application module (``use Application``) and the children its ``start/2`` starts,
    as the model reads them."""

    path: Path
    module: str
    source: Source
    lists: tuple[ChildrenList, ...] = ()
    """Children lists of the module, the one ``start/2`` passes to ``Supervisor.start_link``
    first."""

    @property
    def namespace(self) -> str:
        return self.module.removesuffix(".Application") if "." in self.module else self.module

    @property
    def children(self) -> list[Child]:
        return [child for found in self.lists for child in found.children]

    @property
    def children_list(self) -> ChildrenList | None:
        """The list a new child goes into: the one every start uses, written out."""
        started = [found for found in self.lists if found.function == "start"] or list(self.lists)
        return started[0] if started else None

    def named(self, kind: str, keys: str | None = None, unconditional: bool = False) -> list[str]:
        """Names of the children of ``kind`` (Registries with these ``keys`` when given; only
        those every start starts when ``unconditional``)."""
        return [
            c.name
            for c in self._children(unconditional)
            if c.kind == kind and c.name and (keys is None or c.keys == keys)
        ]

    def child_modules(self, unconditional: bool = False) -> set[str]:
        """The modules of the children (only those every start starts when
        ``unconditional``)."""
        return {c.module for c in self._children(unconditional) if c.module}

    def _children(self, unconditional: bool) -> list[Child]:
        """`children`, or only those of the lists every start uses when ``unconditional``."""
        if not unconditional:
            return self.children
        return [
            child for found in self.lists if found.placement == LITERAL for child in found.children
        ]

    def add_child(self, child_text: str, users: frozenset[str] = frozenset()) -> Edit | None:
        """An edit that starts ``child_text`` in the children list, after the infrastructure
        and before the first child among ``users`` (see `supervision.insertion_index`); None
        when the list is chosen by a branch or built at run time."""
        target = self.children_list
        if target is None or not target.insertable:
            return None
        position = insertion_index(target.children, users)
        return insert_child(self.source, target, position, child_text, str(self.path))


@dataclass
class ProjectContext:
    root: Path | None = None
    applications: list[Application] = field(default_factory=list)
    index: ProjectIndex = field(default_factory=ProjectIndex)
    """Summaries of every file of the project, for cross-file rules (incomplete: stay silent)."""

    @cached_property
    def path_dependencies(self) -> bool:
        """The project's mix.exs depends on other Mix projects by ``path:`` or
        ``in_umbrella:``, or a Mix project beside it depends on it by ``path:`` (apps kept
        side by side with no umbrella project above them): applications outside the tool's
        view run on the same node (and may start what is one per node, such as the default
        ``:pg`` scope). Read when a fix asks."""
        if self.root is None:
            return False
        mix = self.mix_text
        return bool(mix and PATH_DEPENDENCY.search(mix)) or _depended_on_by_path(self.root)

    @cached_property
    def base(self) -> Path | None:
        """Where paths are classed (tests, tooling) and shown from: the repository's root (see
        `files.repository_root`), the project's own root unless it sits in another one."""
        return Path(files.repository_root(str(self.root))) if self.root is not None else None

    @cached_property
    def mix_text(self) -> str | None:
        """The project's mix.exs, read when a fix asks."""
        return files.read_text(self.root / "mix.exs") if self.root is not None else None

    @cached_property
    def lowest_elixir(self) -> tuple[int, int] | None:
        """The lowest Elixir version (major, minor) the ``elixir:`` requirement of mix.exs
        admits (``"~> 1.14"`` gives (1, 14)); None when there is none or it is computed."""
        return _lowest_elixir(self.mix_text)

    def lowest_elixir_for(self, path: str | None) -> tuple[int, int] | None:
        """`lowest_elixir` as the Mix project holding ``path`` states it: an umbrella app's
        own mix.exs (``apps/shop/mix.exs``) says which Elixir it runs on, where the
        umbrella's seldom does; the project's own mix.exs when none between says."""
        if path is not None and self.root is not None:
            root = self.root.resolve()
            folder = Path(path).resolve().parent
            while folder != root and root in folder.parents:
                found = _lowest_elixir(files.read_text(folder / "mix.exs"))
                if found is not None:
                    return found
                folder = folder.parent
        return self.lowest_elixir

    @cached_property
    def app_name(self) -> str | None:
        """The OTP application mix.exs names (``app: :shop`` gives ``shop``), or None."""
        found = APP_NAME.search(self.mix_text or "")
        return found.group(1) if found is not None else None

    @cached_property
    def cluster_dependency(self) -> str | None:
        """A dependency of mix.exs that joins the nodes of a cluster (``libcluster``,
        ``peerage``...), by name; None when there is none."""
        found = CLUSTER_DEPENDENCY.search(self.mix_text or "")
        return found.group(1) if found is not None else None

    def application_for(self, path: str | None) -> Application | None:
        """The application whose folder holds ``path`` (umbrella apps), else the only one."""
        if not self.applications:
            return None
        if path is not None:
            resolved = Path(path).resolve()
            best = None
            for app in self.applications:
                root = app_root(app.path)
                if resolved.is_relative_to(root) and (
                    best is None or len(root.parts) > len(app_root(best.path).parts)
                ):
                    best = app
            if best is not None:
                return best
        return self.applications[0] if len(self.applications) == 1 else None


EMPTY = ProjectContext()


def app_root(application_path: Path) -> Path:
    """The folder holding `lib/` for an application module file."""
    for parent in application_path.resolve().parents:
        if parent.name == "lib":
            return parent.parent
    return application_path.resolve().parent


def find_root(path: Path) -> Path | None:
    """The Mix project ``path`` belongs to (see `root_of_folder`), as an absolute path: `.`
    and `lib/x.ex` have no parents of their own to look in."""
    path = Path(os.path.abspath(path))
    start = path if path.is_dir() else path.parent
    root = None
    for folder in reversed((start, *start.parents)):
        root = root_of_folder(str(folder), root)
    return Path(root) if root is not None else None


def scan(
    root: Path,
    read_text: ReadText | None = None,
    candidates: Iterable[Path] | None = None,
    index: ProjectIndex | None = None,
    plain: Callable[[Path], bool] | None = None,
) -> ProjectContext:
    """Index the applications under ``root`` (its `lib/` and umbrella `apps/*/lib/`);
    ``candidates`` limits the files read (a rescan after one file changed), and files that
    ``plain`` knows define no application are not read. Without an ``index``, a full scan
    also summarises every file of the project for cross-file rules."""
    reader = read_text or files.read_text
    apps = []
    for path in _candidate_files(root) if candidates is None else candidates:
        if plain is not None and plain(path):
            continue
        text = reader(path)
        if text is None or not defines_application(text):
            continue
        apps.extend(applications_in(Source(text, str(path)), path))
    if index is None:
        index = (
            build_index(root, reader, short_lived_by_globs(root)) if candidates is None else None
        )
    return ProjectContext(root, apps, index or ProjectIndex(root))


APP_NAME = re.compile(r"\bapp:\s*:(\w+)")
"""The ``app: :shop`` of a mix.exs project."""

PATH_DEPENDENCY = re.compile(r"\{\s*:\w+\s*,[^}\n]*\b(?:path:|in_umbrella:\s*true)")
"""A dependency tuple on another Mix project: ``{:shop_data, path: "../data"}``,
``{:shop, in_umbrella: true}``."""

ELIXIR_REQUIREMENT = re.compile(r"\belixir:\s*\"([^\"#]*)\"")
CLUSTER_DEPENDENCY = re.compile(r"\{\s*:(libcluster|peerage|swarm|horde|partisan)\b")

MAX_SIBLINGS = 50


def _depended_on_by_path(root: Path) -> bool:
    """A Mix project in a folder beside ``root`` names it as a ``path:`` dependency
    (``{:shop_data, path: "../data"}`` in ``apps/web/mix.exs`` for ``apps/data``)."""
    pattern = re.compile(r"\{\s*:\w+\s*,[^}\n]*\bpath:\s*\"\.\./" + re.escape(root.name) + r"/?\"")
    try:
        siblings = sorted(root.parent.iterdir())[:MAX_SIBLINGS]
    except OSError:
        return False
    for sibling in siblings:
        if sibling == root or not sibling.is_dir():
            continue
        mix = files.read_text(sibling / "mix.exs")
        if mix and pattern.search(mix):
            return True
    return False


def _candidate_files(root: Path) -> Iterable[Path]:
    for lib in [root / "lib", *sorted((root / "apps").glob("*/lib"))]:
        if lib.is_dir():
            yield from (p for p in sorted(lib.rglob("*.ex")) if not _SKIP_DIRS & set(p.parts))


def applications_in(source: Source, path: Path) -> list[Application]:
    summary = summarize(source, str(path))
    found = []
    for module in summary.modules:
        if "Application" not in module.uses:
            continue
        lists = tuple(c for c in summary.supervision.lists if c.owner == module.name)
        found.append(Application(path, module.name, source, lists))
    return found


MAX_LINE = 98
"""`mix format`'s default line length."""


def insert_child(
    source: Source, target: ChildrenList, position: int, child: str, path: str
) -> Edit:
    """An edit that puts ``child`` at ``position`` among the children of the list literal
    ``target``, in its layout: one child a line (comments kept with the child they precede),
    or on the list's one line when it still fits, else the list written one child a line."""
    items = target.children
    newline = source.newline
    text = source.text
    list_start, list_end = target.start, target.end
    indent = source.line_indent(source.line_of(list_start))
    if not items or source.line_of(list_start) == source.line_of(list_end - 1):
        texts = [text[c.start : c.end] for c in items]
        texts.insert(position, child)
        line_start = list_start - len(text[:list_start].rsplit("\n", 1)[-1])
        line_end = text.find("\n", list_end)
        tail = text[list_end : len(text) if line_end < 0 else line_end]
        one_line = f"[{', '.join(texts)}]"
        if len(text[line_start:list_start]) + len(one_line) + len(tail) <= MAX_LINE:
            return Edit(list_start, list_end, one_line, path)
        in_call = _call_arguments_around(source, list_start, list_end)
        if in_call is not None:
            return _arguments_one_a_line(source, in_call, list_start, list_end, texts, path)
        inner = "".join(f"{newline}{indent}  {t}," for t in texts).rstrip(",")
        return Edit(list_start, list_end, f"[{inner}{newline}{indent}]", path)
    item_indent = source.line_indent(source.line_of(items[0].start))
    if position == len(items):
        last_end = items[-1].end
        if text[last_end:].lstrip(" ").startswith(","):
            return Edit(*_after_line(text, last_end), f"{newline}{item_indent}{child},", path)
        return Edit(last_end, last_end, f",{newline}{item_indent}{child}", path)
    before = list_start + 1 if position == 0 else items[position - 1].end
    at, _ = _after_line(text, before)
    return Edit(at, at, f"{newline}{item_indent}{child},", path)


def _call_arguments_around(source: Source, start: int, end: int) -> Node | None:
    """The arguments of the call that takes the list at ``[start, end)`` and more arguments
    after it, all on one line (``Supervisor.start_link([A, B], strategy: ..)``): `mix format`
    breaks such a call one argument a line once the list does not fit."""
    first, last = source.offset_to_byte(start), source.offset_to_byte(end)
    node: Node | None = source.tree.root_node.descendant_for_byte_range(first, last)
    while node is not None and node.type != "list":
        node = node.parent
    arguments = node.parent if node is not None else None
    if arguments is None or arguments.type != "arguments" or len(arguments.named_children) < 2:
        return None
    if "\n" in source.node_text(arguments) or syntax.text(arguments.children[0]) != "(":
        return None
    return arguments


def _arguments_one_a_line(
    source: Source, arguments: Node, start: int, end: int, items: list[str], path: str
) -> Edit:
    """The call's arguments laid out as `mix format` does when they do not fit on one line:
    one a line, the children list one child a line, each keyword pair on its own line."""
    newline = source.newline
    indent = source.line_indent(source.line_of(start))
    lines: list[str] = []
    for argument in arguments.named_children:
        span = source.node_span(argument)
        if span == (start, end):
            inner = "".join(f"{newline}{indent}    {item}," for item in items).rstrip(",")
            lines.append(f"[{inner}{newline}{indent}  ]")
        elif argument.type == "keywords":
            lines.extend(source.node_text(pair) for pair in argument.named_children)
        else:
            lines.append(source.node_text(argument))
    body = ",".join(f"{newline}{indent}  {line}" for line in lines)
    first, last = source.node_span(arguments)
    return Edit(first, last, f"({body}{newline}{indent})", path)


def _after_line(text: str, offset: int) -> tuple[int, int]:
    """The end of the line holding ``offset`` (before its line break), as an empty span."""
    ends = [i for i in (text.find("\n", offset), text.find("\r", offset)) if i >= 0]
    end = min(ends) if ends else len(text)
    return end, end


def _lowest_elixir(mix_text: str | None) -> tuple[int, int] | None:
    found = ELIXIR_REQUIREMENT.search(mix_text or "")
    if found is None:
        return None
    versions = [(int(a), int(b)) for a, b in re.findall(r"(\d+)\.(\d+)", found.group(1))]
    return min(versions) if versions else None
