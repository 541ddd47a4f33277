"""The project's facts: the files' summaries joined, for what crosses files.

Built from the summaries the project index keeps (`model.summary`), and rebuilt by it whenever
a summary changes in a way other files' findings can depend on. Each join is made on first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from otp_thinking.model import ets
from otp_thinking.model.callers import Callers, ServerCallers
from otp_thinking.model.effects import FunctionCall, FunctionEffect
from otp_thinking.model.modules import MIX_TASKS
from otp_thinking.model.names import ProjectNames
from otp_thinking.model.on_demand import BOOT_FUNCTIONS, OnDemand
from otp_thinking.model.summary import CallSite, FileSummary
from otp_thinking.model.supervision import Child, ChildrenList, DynamicStart

MODULE_HOPS = 3
"""How many modules further than the first a chain of calls is followed: past that, which
clause runs and whether the path is ever taken is too far from the code to say."""


@dataclass(frozen=True, slots=True)
class Reached:
    """Blocking work a function reaches: the blocking ``call`` as written (``Repo.all``), its
    ``kind``, and the steps ``through`` which the function gets there, in order: helpers of
    its module by name, functions of other modules as ``Module.function/arity``."""

    call: str
    kind: str
    through: tuple[str, ...] = ()
    arity: int = 0
    """The arity of the function asked about (as the project defines it)."""
    conditional: bool = False
    """A step on the way, or the blocking call itself, is in a branch of an ``if``, ``case``…:
    the function blocks in some runs only, maybe not for the arguments a caller gives."""


class ProjectFacts:
    """What the files in ``files`` (summaries by absolute path) say about each other."""

    def __init__(self, files: Mapping[str, FileSummary]) -> None:
        self.files = files

    @cached_property
    def names(self) -> ProjectNames:
        """The project's modules and the process names it starts (see `model.names`)."""
        return ProjectNames(self.files)

    @cached_property
    def _callers(self) -> ServerCallers:
        return ServerCallers(self.files, self.names)

    def started_by_supervisors(self, module: str) -> tuple[list[Child], list[DynamicStart]]:
        """The entries of the project's children lists that start ``module``, and its
        `DynamicSupervisor.start_child` calls."""
        files = self.files.values()
        listed = [
            child
            for summary in files
            for children in summary.supervision.lists
            for child in children.children
            if child.module == module
        ]
        dynamic = [s for f in files for s in f.supervision.dynamic_starts if s.module == module]
        return listed, dynamic

    def lists_holding(self, module: str) -> list[ChildrenList]:
        """The project's children lists that hold ``module``."""
        return [
            children
            for summary in self.files.values()
            for children in summary.supervision.lists
            if any(child.module == module for child in children.children)
        ]

    def listed_last(self, module: str) -> bool:
        """Every children list of the project that holds ``module`` ends with it (and holds
        nothing more the tool cannot read): no sibling starts after it."""
        lists = self.lists_holding(module)
        return bool(lists) and all(c.complete and c.children[-1].module == module for c in lists)

    def callers(self, module: str) -> Callers:
        """Where the project calls the GenServer ``module`` (see `model.callers`)."""
        return self._callers(module)

    def modules_calling(self, module: str, functions: frozenset[str]) -> tuple[str, ...]:
        """The other modules of the project whose production code calls one of ``module``'s
        ``functions`` (by name, any arity)."""
        return self._callers.modules_calling(module, functions)

    @cached_property
    def _effects(self) -> dict[tuple[str, str], tuple[FunctionEffect, ...]]:
        return _by_function(e for summary in self.files.values() for e in summary.effects)

    def effect(
        self, module: str, function: str, kinds: frozenset[str] | None = None
    ) -> FunctionEffect | None:
        """How the public function ``module.function`` blocks or acts outside the process:
        its first such call, or with ``kinds`` its first call of one of those kinds."""
        found = self._effects.get((module, function), ())
        if kinds is None:
            return found[0] if found else None
        return next((e for e in found if e.kind in kinds), None)

    @cached_property
    def _calls(self) -> dict[tuple[str, str], tuple[FunctionCall, ...]]:
        return _by_function(c for summary in self.files.values() for c in summary.function_calls)

    def reach(
        self, module: str, function: str, kinds: frozenset[str] | None = None
    ) -> Reached | None:
        """What the public function ``module.function`` blocks on (of one of ``kinds`` when
        given, else any effect), in its own module or through the functions of other modules
        it calls, ``MODULE_HOPS`` modules further at most; None when nothing it reaches does."""
        return self._reach(module, function, kinds, MODULE_HOPS, frozenset())

    def _reach(
        self,
        module: str,
        function: str,
        kinds: frozenset[str] | None,
        hops: int,
        seen: frozenset[tuple[str, str]],
    ) -> Reached | None:
        key = (module, function, kinds, hops)
        if key in self._reached:
            return self._reached[key]
        effect = self.effect(module, function, kinds)
        found = None
        if effect is not None:
            found = Reached(effect.call, effect.kind, effect.via, effect.arity, effect.conditional)
        elif hops > 0:
            inside = seen | {(module, function)}
            for call in self._calls.get((module, function), ()):
                if (call.target, call.target_function) in inside:
                    continue
                further = self._reach(call.target, call.target_function, kinds, hops - 1, inside)
                if further is not None:
                    label = f"{call.target}.{call.target_function}/{further.arity}"
                    steps = (*call.via, label, *further.through)
                    found = Reached(
                        further.call,
                        further.kind,
                        steps,
                        call.arity,
                        call.conditional or further.conditional,
                    )
                    break
        self._reached[key] = found
        return found

    @cached_property
    def _reached(self) -> dict[tuple[str, str, frozenset[str] | None, int], Reached | None]:
        return {}

    @cached_property
    def _calls_from(self) -> dict[str, tuple[CallSite, ...]]:
        table: dict[str, tuple[CallSite, ...]] = {}
        for summary in self.files.values():
            for call in summary.calls:
                table[call.caller] = (*table.get(call.caller, ()), call)
        return table

    def calls_to(self, module: str, function: str) -> tuple[CallSite, ...]:
        """The calls the project's production code makes from other modules to
        ``module.function`` (any arity)."""
        return tuple(
            call
            for summary in self.files.values()
            if not summary.short_lived
            for call in summary.calls
            if call.target == module and call.function == function
        )

    def dropped_by_every_caller(self, module: str, function: str) -> bool:
        """Every call other modules make to ``module.function`` throws its value away, none
        from an Application module (whose `start/2` runs in OTP's application master, which
        traps exits and drops stray messages), and there is at least one."""
        sites = self.calls_to(module, function)
        applications = {
            name for name, (_path, m) in self.names.modules.items() if "Application" in m.uses
        }
        return (
            bool(sites)
            and all(call.discarded for call in sites)
            and not any(call.caller in applications for call in sites)
        )

    @cached_property
    def _on_demand(self) -> OnDemand:
        return OnDemand(self.files, self.names.modules)

    def started_on_demand(self, module: str) -> str | None:
        """Who starts ``module``'s processes while the project runs, one per call, rather than
        at boot (see `model.on_demand`): ``Rooms.Hub.open/1``, or None."""
        return self._on_demand.starter(module)

    def called_on_demand(self, module: str, function: str) -> str | None:
        """A function of another module that calls ``module.function`` while the project
        runs, not at its boot (``Rooms.Lobby.handle_call/3``), or None."""
        return self._on_demand.called_on_demand(module, function)

    def a_caller_takes_any_message(self, module: str, function: str) -> bool:
        """A module whose production code calls ``module.function`` has a ``handle_info/2``
        clause that takes whatever message arrives: a reply or ``:DOWN`` it did not ask for
        is taken there, not left unread."""
        modules = self.names.modules
        return any(
            call.caller in modules and modules[call.caller][1].takes_any_message
            for call in self.calls_to(module, function)
        )

    def calls_from(self, module: str) -> tuple[CallSite, ...]:
        """The calls ``module`` makes to other project modules, in the order the files give."""
        return self._calls_from.get(module, ())

    def task_running_without_the_app(
        self, module: str, functions: Iterable[str], app: str | None
    ) -> str | None:
        """A Mix task of the project that calls one of ``module``'s ``functions`` (through the
        functions of other modules, TASK_HOPS calls deep) without starting the project's
        application (no ``Mix.Task.run("app.start")``, no ``Application.ensure_all_started``
        of the app, in the task or a module it calls), by its command (``mix
        content.plan.generate``), or None. There the supervision tree, and what a fix starts
        in it, is not running."""
        for callers in self._callers_by_hop(module, functions):
            for caller, _function in sorted(callers):
                if caller.startswith(MIX_TASKS) and not self._starts_the_app(caller, app):
                    return "mix " + _task_command(caller.removeprefix(MIX_TASKS))
        return None

    def booted_through(self, module: str, functions: Iterable[str]) -> frozenset[str]:
        """The modules whose start runs one of ``module``'s ``functions``: their
        ``BOOT_FUNCTIONS`` call it, through the functions of other modules (TASK_HOPS calls
        deep) and the helpers of each module on the way. A child among them calls it while the
        supervisor is still starting the children listed after it."""
        return frozenset(
            caller
            for callers in self._callers_by_hop(module, functions)
            for caller, function in callers
            if function in BOOT_FUNCTIONS
        )

    def _callers_by_hop(
        self, module: str, functions: Iterable[str]
    ) -> Iterator[set[tuple[str, str]]]:
        """The public functions of other modules that call one of ``module``'s ``functions``,
        then those that call them, ..., TASK_HOPS calls deep: each hop's new callers."""
        found = {(module, function) for function in functions}
        frontier = set(found)
        for _hop in range(TASK_HOPS):
            frontier = {
                (call.module, call.function)
                for target in frontier
                for call in self._called_by.get(target, ())
            } - found
            found |= frontier
            yield frontier

    def _starts_the_app(self, task: str, app: str | None) -> bool:
        """The Mix task, or a module it calls (a shared ``start_app/0`` helper), starts the
        project's application."""
        named = self.names.modules
        for name in {task, *(call.target for call in self._calls_of(task))}:
            apps = named[name][1].starts_apps if name in named else ()
            if "app.start" in apps or (app is not None and app in apps):
                return True
        return False

    def _calls_of(self, module: str) -> list[FunctionCall]:
        return [c for calls in self._called_by.values() for c in calls if c.module == module]

    @cached_property
    def _called_by(self) -> dict[tuple[str, str], tuple[FunctionCall, ...]]:
        """The calls between modules the project's public functions make, by their target."""
        callers: dict[tuple[str, str], list[FunctionCall]] = {}
        for summary in self.files.values():
            for call in summary.function_calls:
                if call.module != call.target:
                    callers.setdefault((call.target, call.target_function), []).append(call)
        return {target: tuple(calls) for target, calls in callers.items()}

    @cached_property
    def tables(self) -> ets.Tables:
        """Every ETS table of the project and every access its production code makes (see
        `model.ets.Tables`): a test reading or writing a table says nothing of how the
        application uses it."""
        return ets.Tables.join(
            (s.tables, () if s.short_lived else s.table_accesses) for s in self.files.values()
        )


TASK_HOPS = 6
"""How many calls between modules a Mix task, or a child's start, is followed to the code a
fix edits."""


def _task_command(name: str) -> str:
    """``Content.Plan.Generate`` → ``content.plan.generate``, as Mix names a task."""
    return ".".join(
        "".join(f"_{c.lower()}" if c.isupper() else c for c in part).lstrip("_")
        for part in name.split(".")
    )


_Fact = TypeVar("_Fact", FunctionEffect, FunctionCall)


def _by_function(facts: Iterable[_Fact]) -> dict[tuple[str, str], tuple[_Fact, ...]]:
    """Facts of public functions grouped by ``(module, function)``, in the order given."""
    table: dict[tuple[str, str], list[_Fact]] = {}
    for fact in facts:
        table.setdefault((fact.module, fact.function), []).append(fact)
    return {key: tuple(found) for key, found in table.items()}
