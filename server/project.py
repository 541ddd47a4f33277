"""What the project around a file starts: its application module and supervision children.

Fixes use it to name the real Task.Supervisor or Registry and, when one is missing, to add the
child to the application's children list (a second file in the same fix).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from otp_thinking import files, syntax
from otp_thinking.findings import Edit
from otp_thinking.index import ProjectIndex, build_index, short_lived_by_globs
from otp_thinking.parsing import compile_query, matches
from otp_thinking.source import Source

ReadText = Callable[[Path], str | None]

_USE_APPLICATION = re.compile(r"^\s*use\s+Application\b", re.MULTILINE)
_SKIP_DIRS = frozenset({"deps", "_build", ".git", "node_modules", ".elixir_ls", ".expert"})

_CHILDREN_LIST = compile_query(
    """
    (binary_operator
      left: (identifier) @var (#eq? @var "children")
      right: (list) @list)
    """
)
# `children = [...] ++ more_children()`: the literal list in front starts first.
_CHILDREN_LIST_CONCATENATED = compile_query(
    """
    (binary_operator
      left: (identifier) @var (#eq? @var "children")
      right: (binary_operator left: (list) @list operator: "++"))
    """
)


@dataclass(frozen=True)
class Child:
    """One entry of a children list: ``kind`` is task_supervisor, registry, pg or other."""

    kind: str
    name: str | None
    unique: bool = False


@dataclass
class Application:
    path: Path
    module: str
    children: list[Child]
    source: Source
    children_list: Node | None

    @property
    def namespace(self) -> str:
        return self.module.removesuffix(".Application") if "." in self.module else self.module

    def named(self, kind: str) -> list[str]:
        return [c.name for c in self.children if c.kind == kind and c.name]

    def add_child(self, child_text: str) -> Edit | None:
        """An edit that starts ``child_text`` first in the children list (started first,
        stopped last, so every sibling can use it), or None when there is no literal list."""
        return _insert_first(self.source, self.children_list, child_text, str(self.path))


@dataclass
class ProjectContext:
    root: Path | None = None
    applications: list[Application] = field(default_factory=list)
    index: ProjectIndex = field(default_factory=ProjectIndex)
    """Summaries of every file of the project, for cross-file rules (incomplete: stay silent)."""

    def application_for(self, path: str | None) -> Application | None:
        """The application whose folder holds ``path`` (umbrella apps), else the only one."""
        if not self.applications:
            return None
        if path is not None:
            resolved = Path(path).resolve()
            best = None
            for app in self.applications:
                app_root = _app_root(app.path)
                if resolved.is_relative_to(app_root) and (
                    best is None or len(app_root.parts) > len(_app_root(best.path).parts)
                ):
                    best = app
            if best is not None:
                return best
        return self.applications[0] if len(self.applications) == 1 else None


EMPTY = ProjectContext()


def defines_application(text: str) -> bool:
    # the substring test first: it runs on every keystroke and the regex costs 100x more
    return "Application" in text and _USE_APPLICATION.search(text) is not None


def _app_root(application_path: Path) -> Path:
    """The folder holding `lib/` for an application module file."""
    for parent in application_path.resolve().parents:
        if parent.name == "lib":
            return parent.parent
    return application_path.resolve().parent


def find_root(path: Path) -> Path | None:
    """The outermost folder with a mix.exs above ``path`` (an umbrella's root wins), as an
    absolute path: `.` and `lib/x.ex` have no parents of their own to look in."""
    path = Path(os.path.abspath(path))
    found = None
    for folder in (path if path.is_dir() else path.parent, *path.parents):
        if (folder / "mix.exs").is_file():
            found = folder
    return found


def scan(
    root: Path,
    read_text: ReadText | None = None,
    candidates: Iterable[Path] | None = None,
    index: ProjectIndex | None = None,
) -> ProjectContext:
    """Index the applications under ``root`` (its `lib/` and umbrella `apps/*/lib/`);
    ``candidates`` limits the files read (a rescan after one file changed). Without an
    ``index``, a full scan also summarises every file of the project for cross-file rules."""
    reader = read_text or files.read_text
    apps = []
    for path in _candidate_files(root) if candidates is None else candidates:
        text = reader(path)
        if text is None or not defines_application(text):
            continue
        apps.extend(applications_in(Source(text, str(path)), path))
    if index is None:
        index = (
            build_index(root, reader, short_lived_by_globs(root)) if candidates is None else None
        )
    return ProjectContext(root, apps, index or ProjectIndex(root))


def _candidate_files(root: Path) -> Iterable[Path]:
    for lib in [root / "lib", *sorted((root / "apps").glob("*/lib"))]:
        if lib.is_dir():
            yield from (p for p in sorted(lib.rglob("*.ex")) if not _SKIP_DIRS & set(p.parts))


def applications_in(source: Source, path: Path) -> list[Application]:
    found = []
    for module in _modules(source.tree.root_node):
        if "Application" not in syntax.uses(module):
            continue
        children_list = _children_list(module)
        children = [_child(item) for item in _child_candidates(module)]
        found.append(Application(path, syntax.module_name(module), children, source, children_list))
    return found


def _modules(node: Node) -> Iterable[Node]:
    for child in node.named_children:
        if syntax.is_defmodule(child):
            yield child
            body = syntax.do_block(child)
            if body is not None:
                yield from _modules(body)


def _children_list(module: Node) -> Node | None:
    for query in (_CHILDREN_LIST, _CHILDREN_LIST_CONCATENATED):
        for captures in matches(query, module):
            return captures["list"][0]
    return _children_function_list(module)


def _children_function_list(module: Node) -> Node | None:
    """The list a ``def``/``defp children`` of the application module returns."""
    body = syntax.do_block(module)
    for definition in body.named_children if body is not None else []:
        if not syntax.is_definition(definition):
            continue
        args = syntax.argument_nodes(definition)
        head = args[0] if args else None
        if head is None or syntax.text(head).split("(")[0].strip() != "children":
            continue
        returned = _returned_expression(definition)
        if returned is not None and returned.type == "list":
            return returned
    return None


def _returned_expression(definition: Node) -> Node | None:
    block = syntax.do_block(definition)
    if block is not None:
        statements = [c for c in block.named_children if c.type != "comment"]
        return statements[-1] if statements else None
    args = syntax.argument_nodes(definition)
    options = dict(syntax.keyword_pairs(args[-1])) if len(args) > 1 else {}
    return options.get("do")


_LISTS = compile_query("(list) @list")


def _child_candidates(module: Node) -> list[Node]:
    """Items of every list literal in the module: real children lists are often built by
    helper functions (`defp children(mode)`), not only in `children = [...]`."""
    return [item for captures in matches(_LISTS, module) for item in _items(captures["list"][0])]


def _items(list_node: Node) -> list[Node]:
    return [child for child in list_node.named_children if child.type != "comment"]


def _child(item: Node) -> Child:
    if item.type == "tuple" and item.named_children:
        head = syntax.text(item.named_children[0])
        options = dict(syntax.keyword_pairs(item))
        if len(item.named_children) == 2 and item.named_children[1].type == "list":
            options.update(syntax.keyword_pairs(item.named_children[1]))  # {Registry, [...]}
        name = syntax.text(options["name"]) if "name" in options else None
        if head == "Task.Supervisor":
            return Child("task_supervisor", name)
        if head == "Registry":
            unique = syntax.text(options.get("keys")) == ":unique"
            return Child("registry", name, unique)
        if head == "PartitionSupervisor":
            return Child("partition_supervisor", name)
        if head == ":pg":
            rest = item.named_children[1:]
            return Child("pg", syntax.text(rest[0]) if rest else ":pg")
    if item.type == "map" and ":pg" in syntax.text(item) and ":start_link" in syntax.text(item):
        return Child("pg", _pg_scope(item))
    if item.type == "alias" and syntax.text(item) == "Task.Supervisor":
        return Child("task_supervisor", None)
    return Child("other", None)


def _pg_scope(child_map: Node) -> str:
    """The scope in ``%{start: {:pg, :start_link, [scope]}}``; ``:pg`` when none is given."""
    match = re.search(r":start_link\s*,\s*\[\s*([^\]\s][^\]]*?)\s*\]", syntax.text(child_map))
    return match.group(1) if match else ":pg"


def _insert_first(source: Source, list_node: Node | None, child: str, path: str) -> Edit | None:
    if list_node is None:
        return None
    first = next((c for c in list_node.named_children), None)
    open_end = source.byte_to_offset(list_node.start_byte) + 1
    newline = source.newline
    if first is None:
        list_start, list_end = source.node_span(list_node)
        indent = source.line_indent(source.line_of(list_start))
        new = f"[{newline}{indent}  {child}{newline}{indent}]"
        return Edit(list_start, list_end, new, path)
    first_start = source.byte_to_offset(first.start_byte)
    if source.line_of(first_start) == source.line_of(open_end):
        return Edit(first_start, first_start, f"{child}, ", path)
    indent = source.line_indent(source.line_of(first_start))
    return Edit(first_start, first_start, f"{child},{newline}{indent}", path)
