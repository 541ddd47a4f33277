"""Everything a rule may look at while checking one document."""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import os
import re
from collections.abc import Collection, Iterator, Mapping
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.config import DEFAULT, Config
from otp_thinking.files import TOOLING_FOLDERS
from otp_thinking.findings import Finding, Fix
from otp_thinking.index import summary_for
from otp_thinking.model import modules
from otp_thinking.model.modules import shadowed
from otp_thinking.model.summary import FileSummary
from otp_thinking.parsing import AnyQuery, Captures, compile_query
from otp_thinking.project import EMPTY, Application, ProjectContext, applications_in
from otp_thinking.query_pack import document_matches
from otp_thinking.rule import Rule
from otp_thinking.source import Source

_SHADOWING_ALIAS = re.compile(
    r"\balias\b[^\n]*\b(?:Registry|Task|GenServer|Supervisor|DynamicSupervisor|Agent|Process)\b"
)
"""An ``alias`` line that may give one of Elixir's module names to a module of the project
(``alias MyApp.Downloads.Registry``): only then are calls checked one by one."""

_USE_MIX_TASK = compile_query(
    """
    (call target: (identifier) @use (arguments (alias) @mod)
      (#eq? @use "use") (#eq? @mod "Mix.Task"))
    """
)
_RELEASE_TASK_CALLS = frozenset({("Application", "load"), ("Ecto.Migrator", "with_repo")})
"""``Application.load/1`` or ``Ecto.Migrator.with_repo/2``: a release task (``bin/app eval``)
that loads the application without starting it, so nothing of its supervision tree runs."""


class Context:
    def __init__(
        self,
        source: Source,
        *,
        config: Config = DEFAULT,
        project: ProjectContext = EMPTY,
    ) -> None:
        self.source = source
        self.path = source.path
        self.config = config
        self.project = project
        self.cache: dict[str, Any] = {}
        """Shared between rules for one analysis (e.g. facts gathered once per module)."""

    @property
    def root(self) -> Node:
        return self.source.tree.root_node

    def matches(self, query: AnyQuery) -> list[Captures]:
        """All matches of ``query`` over the document, computed once per analysis (with the
        other queries of its pack, and not at all when the text lacks the words it needs)."""
        document = document_matches(self.source)
        document.count_as_analysis()
        return document.get(query)

    def remote_calls(
        self, modules: Collection[str], functions: Collection[str] | None = None
    ) -> list[Captures]:
        """The calls to ``modules`` (by their text: `"Task"`, `":ets"`) and, unless None,
        ``functions``, in document order; captures ``call``, ``module`` and ``function``.
        Looked up by module: rules ask once per module or call, and a file can hold thousands."""
        by_module = self.cache.get("remote calls")
        if by_module is None:
            by_module = self.cache["remote calls"] = {}
            may_shadow = _SHADOWING_ALIAS.search(self.source.text) is not None
            for position, c in enumerate(self.matches(syntax.REMOTE_CALLS)):
                written = self.text(c["module"][0])
                module = written.removeprefix("Elixir.")  # `Elixir.Task`: past any alias
                head = module.split(".")[0]
                if may_shadow and module == written and shadowed(c["call"][0], head):
                    continue  # `alias MyApp.Registry`: a call to the project's module
                entry = (position, self.text(c["function"][0]), c)
                by_module.setdefault(module, []).append(entry)
        found = [entry for module in set(modules) for entry in by_module.get(module, ())]
        if len(modules) > 1:
            found.sort(key=lambda entry: entry[0])  # document order across modules
        return [c for _, function, c in found if functions is None or function in functions]

    def text(self, node: Node) -> str:
        return self.source.node_text(node)

    def span(self, node: Node) -> tuple[int, int]:
        return self.source.node_span(node)

    def finding(
        self,
        rule: Rule,
        node: Node,
        message: str,
        *,
        fix: Fix | None = None,
        data: Mapping[str, Any] | None = None,
        end_node: Node | None = None,
    ) -> Finding:
        start, end = self.span(node)
        if end_node is not None:
            end = self.span(end_node)[1]
        return Finding(
            rule.code, rule.name, rule.severity, message, start, end, fix, dict(data or {})
        )

    # -- project ------------------------------------------------------------------------

    @cached_property
    def application(self) -> Application | None:
        """The application this file belongs to; read from the text being analysed when its
        module is in this very file (the project's copy may be older)."""
        app = self.project.application_for(self.path)
        if app is None or self.path is None or app.source.text == self.source.text:
            return app
        if os.path.realpath(app.path) != os.path.realpath(self.path):
            return app
        fresh = [a for a in applications_in(self.source, app.path) if a.module == app.module]
        return fresh[0] if fresh else app

    def summaries(self) -> Iterator[tuple[str, FileSummary]]:
        """Every file's summary in the project index, in path order; this file's for the text
        being analysed (the index may hold an older one)."""
        own = os.path.abspath(self.path) if self.path is not None else None
        files = self.project.index.files
        for path in sorted(files):
            yield path, (self.summary if path == own else files[path])
        if own is not None and own not in files:
            yield own, self.summary

    @cached_property
    def summary(self) -> FileSummary:
        """This file's summary in the project index (what cross-file rules compare with the
        rest of the project), for the text being analysed."""
        return summary_for(self.project.index, self.source, self.cache)

    def shown_path(self, path: str) -> str:
        """Another file of the project as a message names it: from the outermost folder with a
        mix.exs around the project (a plugin's files from the repository's root, as the user
        who opened it sees them), its name alone when there is no project."""
        base = self.project.base
        if base is None:
            return os.path.basename(path)
        try:
            return os.path.relpath(path, base)
        except ValueError:  # another drive
            return path

    def namespace_at(self, node: Node) -> str:
        """The app's namespace (``MyApp``): from the application, else the first part of the
        full name of the module around ``node`` (``Shop`` for a ``Cart`` nested in ``Shop``)."""
        if self.application is not None:
            return self.application.namespace
        name = modules.name_at(node)
        return name.split(".")[0] if name else "MyApp"

    # -- short-lived code ---------------------------------------------------------------

    @cached_property
    def relative_path(self) -> str | None:
        if self.path is None:
            return None
        path = Path(self.path)
        root = self.project.base
        if root is not None:
            with contextlib.suppress(ValueError, OSError):
                path = path.resolve().relative_to(root.resolve())
        return PurePosixPath(path.as_posix()).as_posix().removeprefix("./")

    @cached_property
    def short_lived_file(self) -> bool:
        """Tests and scripts, by the configured globs."""
        return self.relative_path is not None and matches_any(self.relative_path, self.config.test)

    @cached_property
    def tooling_file(self) -> bool:
        """Under a folder of development tooling, benchmarks, examples, scratch code or a test
        app (`dev/`, `bench/`, `examples/`, `scratch/`, `test_app/`): code that does not run in
        the production system.
        Rules about production supervision and waits consult it; the test globs still decide
        what is a test."""
        if self.relative_path is None:
            return False
        folders = PurePosixPath(self.relative_path).parts[:-1]
        return any(
            part in TOOLING_FOLDERS or part.endswith(("_test_app", "-test-app")) for part in folders
        )

    @cached_property
    def _short_lived_spans(self) -> list[tuple[int, int]]:
        """The spans of Mix tasks (and modules under ``Mix.Tasks.``) and release tasks (see
        `_RELEASE_TASK_CALLS`), merged where they overlap, in order (so a lookup bisects: a
        file can hold thousands of findings and of modules)."""
        spans: list[tuple[int, int]] = []
        if modules.MIX_TASKS in self.source.text:  # helpers under Mix.Tasks that use nothing
            spans.extend(
                self.span(m.node) for m in modules.of(self) if m.name.startswith(modules.MIX_TASKS)
            )
        uses = [captures["use"][0] for captures in self.matches(_USE_MIX_TASK)]
        for module in map(syntax.enclosing_module, [*uses, *self._release_task_calls()]):
            if module is not None:
                spans.append(self.span(module))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _release_task_calls(self) -> list[Node]:
        """The calls of `_RELEASE_TASK_CALLS`, among the remote calls every summary finds."""
        if not any(module in self.source.text for module, _ in _RELEASE_TASK_CALLS):
            return []
        return [
            captures["call"][0]
            for captures in self.matches(syntax.REMOTE_CALLS)
            if captures["module"][0].type == "alias"
            and (self.text(captures["module"][0]), self.text(captures["function"][0]))
            in _RELEASE_TASK_CALLS
        ]

    def short_lived_at(self, offset: int) -> bool:
        if self.short_lived_file:
            return True
        spans = self._short_lived_spans
        index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
        return index >= 0 and spans[index][0] <= offset < spans[index][1]


def matches_any(relative_path: str, globs: tuple[str, ...]) -> bool:
    for pattern in globs:
        if fnmatch.fnmatchcase(relative_path, pattern):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(relative_path, pattern[3:]):
            return True
    return False
