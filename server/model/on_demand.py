"""Which processes the project starts while it runs, one per call, rather than at boot.

A process started at boot — listed in a supervisor's children, started by ``Application.start/2``
or a supervisor's ``init/1`` — exists once per configured instance; one started by a request
handler, a ``handle_call/3`` or a game loop exists once per value it is given, and there is no
telling how many values there will be. A rule that warns about something done once per
process (an atom made for its name) asks here whether the code shows the second kind.
"""

from __future__ import annotations

from collections.abc import Mapping

from otp_thinking.model.effects import FunctionCall
from otp_thinking.model.modules import is_supervisor_use
from otp_thinking.model.summary import FileSummary, ModuleSummary

BOOT_FUNCTIONS = frozenset({"init", "handle_continue", "start", "start_link", "child_spec"})
"""Functions that run while the application or a supervisor starts (``init/1`` and the
``handle_continue/2`` it asks for, ``Application.start/2``, the ``start_link`` and
``child_spec`` a supervisor calls), and functions named ``init_…``: what they start is
started once per boot."""
STARTS = frozenset({"start", "start_link"})
"""A module's own functions that start its process."""


class OnDemand:
    """The project's starts of processes while it runs (see the module's docstring)."""

    def __init__(
        self,
        files: Mapping[str, FileSummary],
        modules: Mapping[str, tuple[str, ModuleSummary]],
    ) -> None:
        self.files = {path: s for path, s in files.items() if not s.short_lived}
        self.modules = modules
        self._callers: dict[tuple[str, str], list[FunctionCall]] = {}
        for summary in self.files.values():
            for call in summary.function_calls:
                self._callers.setdefault((call.target, call.target_function), []).append(call)

    def starter(self, module: str) -> str | None:
        """Who starts ``module``'s processes while the project runs (``Rooms.Hub.open/1``,
        or ``Rooms.Channel.join/3 (through Rooms.Supervisor.open/1)``): a function that is not
        a boot function calls its ``start``/``start_link``, or gives it to
        ``DynamicSupervisor.start_child`` with a run-time value. None when the code shows no
        such start (started at boot, by a dependency, or not at all)."""
        for function in sorted(STARTS):
            for call in self._callers.get((module, function), ()):
                shown = self._shown(call.module, call.function, f"/{call.arity}")
                if shown is not None:
                    return shown
        for summary in self.files.values():
            for start in summary.supervision.dynamic_starts:
                name, _, arity = start.function.partition("/")
                if start.module == module and start.per_entity and name:
                    shown = self._shown(start.owner, name, f"/{arity}" if arity else "")
                    if shown is not None:
                        return shown
        return None

    def called_on_demand(self, module: str, function: str) -> str | None:
        """A function of another module that calls ``module.function`` while the project
        runs (``Rooms.Lobby.handle_call/3``), or None: the call graph records calls between
        modules only, so a function only its own module calls (from ``init/1``, say) shows
        none."""
        for call in self._callers.get((module, function), ()):
            if call.module != module and self.runs_on_demand(call.module, call.function):
                return f"{call.module}.{call.function}/{call.arity}"
        return None

    def runs_on_demand(self, module: str, function: str) -> bool:
        """Whether ``module.function`` runs while the project runs rather than at its boot."""
        return self._caller(module, function) is not None

    def _shown(self, module: str, function: str, arity: str) -> str | None:
        caller = self._caller(module, function)
        if caller is None:
            return None
        own = f"{module}.{function}{arity}"
        return f"{caller} (through {own})" if caller else own

    def _caller(self, module: str, function: str, hops: int = 1) -> str | None:
        """None when ``module.function`` runs at boot (a boot function, or a function of an
        Application or a Mix task); ``""`` when it runs while the project runs; for a
        supervisor's function (``RoomSupervisor.open/1``), which may also run at boot, the
        caller that shows it runs on demand (``hops`` deep at most), or None."""
        if function in BOOT_FUNCTIONS or function.startswith("init_"):
            return None
        found = self.modules.get(module)
        summary = found[1] if found is not None else None
        if summary is not None and ("Application" in summary.uses or summary.short_lived):
            return None
        if summary is None or not is_supervisor_use(summary.uses):
            return ""
        if hops == 0:
            return None
        for call in self._callers.get((module, function), ()):
            if call.module != module:
                further = self._caller(call.module, call.function, hops - 1)
                if further is not None:
                    return further or f"{call.module}.{call.function}/{call.arity}"
        return None
