"""Which names the project knows: its modules and the process names its files start.

A rule that sees a Task.Supervisor, a Registry or a `:pg` scope used by name asks whether the
project starts a process under that name; it stays silent when the tool cannot tell (a name
started under a spelling it cannot read, a module whose `use` of a dependency may start it).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from otp_thinking.model.summary import FileSummary, ModuleSummary

_KNOWN_USES = frozenset(
    {"GenServer", "Agent", "Task", "Application", "Supervisor", "DynamicSupervisor", "Mix.Task"}
)
"""Behaviours whose ``use`` starts no process of its own under the module's name."""


class ProjectNames:
    """The modules and started names of the files summarised in ``files`` (by path)."""

    def __init__(self, files: Mapping[str, FileSummary]) -> None:
        self.files = files

    @cached_property
    def started(self) -> dict[str, frozenset[str]]:
        """Every process name some file may start, with the kinds it is started as."""
        found: dict[str, set[str]] = {}
        for summary in self.files.values():
            for start in summary.supervision.names:
                if start.name is not None:
                    found.setdefault(start.name, set()).add(start.kind)
        return {name: frozenset(kinds) for name, kinds in found.items()}

    @cached_property
    def unreadable_kinds(self) -> frozenset[str]:
        """Kinds of process (Task.Supervisor, Registry, `:pg` scope) that some file starts
        under a name the tool cannot read: any name of that kind may be among them."""
        return frozenset(
            start.kind
            for summary in self.files.values()
            for start in summary.supervision.names
            if start.name is None
        )

    @cached_property
    def handed(self) -> frozenset[str]:
        """Names some file hands to another module's function while starting processes: that
        function may start one under the name (see `FileSummary.handed_names`)."""
        return frozenset(name for s in self.files.values() for name in s.handed_names)

    @cached_property
    def modules(self) -> dict[str, tuple[str, ModuleSummary]]:
        """Every module of the project by its full name, with the path of its file."""
        return {m.name: (path, m) for path, s in self.files.items() for m in s.modules}

    @cached_property
    def namespaces(self) -> frozenset[str]:
        return frozenset(name.split(".")[0] for name in self.modules)

    @cached_property
    def owned_prefixes(self) -> dict[str, str]:
        """For each namespace, the prefix its project modules live under: ``Oban.Met`` for a
        library whose modules are the module ``Oban.Met`` and ``Oban.Met.*`` (``Oban.Registry``
        is then its dependency's); else the namespace itself."""
        found: dict[str, list[str]] = {}
        for name in self.modules:
            found.setdefault(name.split(".")[0], []).append(name)
        owned = {}
        for space, names in found.items():
            prefix = _common_prefix(names)
            deeper = len(names) > 1 and prefix in self.modules and space not in self.modules
            owned[space] = prefix if deeper else space
        return owned

    def is_started(self, kind: str, name: str) -> bool | None:
        """Whether some file of the project may start ``name`` (used as a ``kind``): True when
        it is started under that name in any spelling (or appears inside a computed `name:`),
        or is a module of the project (a wrapper that starts itself), or an alias outside the
        project's namespaces (a dependency starts it); None when the tool cannot tell (a
        process of that kind is started under a name it cannot read, or the name is handed to
        a function that may start it); else False."""
        if name in self.started or name in self.modules:
            return True
        if not name.startswith(":") and name.split(".")[0] not in self.namespaces:
            return True
        if not name.startswith(":") and not self._owned(name):
            return None  # `Oban.Registry` used by `Oban.Met`: a dependency may start it
        if kind in self.unreadable_kinds or name in self.handed or self._under_a_foreign_use(name):
            return None
        return False

    def _owned(self, name: str) -> bool:
        prefix = self.owned_prefixes.get(name.split(".")[0], "")
        return name == prefix or name.startswith(prefix + ".")

    def _under_a_foreign_use(self, name: str) -> bool:
        """``MyApp.Events.Registry`` where the project module ``MyApp.Events`` does ``use`` a
        module from outside the project: its ``__using__`` macro may start processes named
        after the module, which the tool cannot see."""
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):
            found = self.modules.get(".".join(parts[:end]))
            if found is not None and any(
                used not in _KNOWN_USES and used.split(".")[0] not in self.namespaces
                for used in found[1].uses
            ):
                return True
        return False


def _common_prefix(names: list[str]) -> str:
    """The longest run of leading segments all ``names`` share (``Oban.Met`` of
    ``Oban.Met.Recorder`` and ``Oban.Met.Examiner``); a name shorter than the others ends it."""
    split = [name.split(".") for name in names]
    shared = []
    for parts in zip(*split, strict=False):
        if any(part != parts[0] for part in parts):
            break
        shared.append(parts[0])
    return ".".join(shared)
