"""Who calls a GenServer: the project's call sites that reach it through `GenServer.call`.

A server's client functions are the public functions whose body (or a private function they
call) does ``GenServer.call`` on one of its names; its callers are the other modules that call
those functions, or the ``GenServer.call`` itself when nothing in the project calls them. Tests,
scripts and Mix tasks are left out: they are not where load comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from otp_thinking.model.names import ProjectNames
from otp_thinking.model.summary import CallSite, FileSummary, ServerCall

HOT_PATH_MODULES = 3
"""A GenServer called from this many modules of the project is on a hot path (OTP106, and the
severity OTP002 gives a read-mostly store)."""


@dataclass(frozen=True)
class Callers:
    """Production call sites that reach a GenServer through ``GenServer.call``."""

    sites: tuple[tuple[str, CallSite], ...] = ()
    requests: tuple[tuple[str, str], ...] = ()
    """(request, caller module) for each production site whose ``GenServer.call`` names its
    request with an atom (``:get`` for ``{:get, key}``)."""

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted({site.caller for _path, site in self.sites}))

    def modules_asking(self, request: str) -> tuple[str, ...]:
        """The modules whose calls reach the server with ``request``."""
        return tuple(sorted({caller for tag, caller in self.requests if tag == request}))

    @property
    def hot(self) -> bool:
        return len(self.modules) >= HOT_PATH_MODULES


class ServerCallers:
    """The callers of every GenServer of the files in ``files`` (by path), asked one server
    at a time."""

    def __init__(self, files: Mapping[str, FileSummary], names: ProjectNames) -> None:
        self.files = files
        self.names = names
        self._found: dict[str, Callers] = {}

    def server_names(self, module: str) -> frozenset[str]:
        facts = self.names.modules.get(module)
        registered = facts[1].registers if facts else ()
        return frozenset((module, *registered))

    def __call__(self, module: str) -> Callers:
        if module not in self._found:
            self._found[module] = self._callers(module)
        return self._found[module]

    def _callers(self, module: str) -> Callers:
        """Call sites through the server's client functions: where other modules call them,
        or the ``GenServer.call`` itself when nothing in the project calls its function."""
        names = self.server_names(module)
        sites: list[tuple[str, CallSite]] = []
        requests: set[tuple[str, str, CallSite]] = set()
        for path, server_call in self._server_calls:
            if server_call.target not in names:
                continue
            reached = [
                (caller_path, call)
                for function in server_call.functions
                for caller_path, call in self._calls_to.get((server_call.module, function), [])
                if call.caller != server_call.module
            ]
            if not reached and server_call.module != module:
                site = CallSite(server_call.module, module, "", server_call.start, server_call.end)
                reached = [(path, site)]
            sites.extend(reached)
            if server_call.request:
                requests.update((server_call.request, *site) for site in reached)
        production = {
            (path, site) for path, site in sites if not self._short_lived(path, site.caller)
        }
        asked = {
            (request, site.caller) for request, path, site in requests if (path, site) in production
        }
        return Callers(
            tuple(sorted(production, key=lambda s: (s[0], s[1].start))), tuple(sorted(asked))
        )

    def modules_calling(self, module: str, functions: frozenset[str]) -> tuple[str, ...]:
        """The other modules whose production code calls one of ``module``'s ``functions``."""
        found = {
            call.caller
            for function in functions
            for path, call in self._calls_to.get((module, function), [])
            if call.caller != module and not self._short_lived(path, call.caller)
        }
        return tuple(sorted(found))

    @cached_property
    def _server_calls(self) -> list[tuple[str, ServerCall]]:
        return [(path, c) for path, s in self.files.items() for c in s.server_calls]

    @cached_property
    def _calls_to(self) -> dict[tuple[str, str], list[tuple[str, CallSite]]]:
        found: dict[tuple[str, str], list[tuple[str, CallSite]]] = {}
        for path, summary in self.files.items():
            for call in summary.calls:
                found.setdefault((call.target, call.function), []).append((path, call))
        return found

    def _short_lived(self, path: str, module: str) -> bool:
        summary = self.files.get(path)
        if summary is None or summary.short_lived:
            return True
        facts = self.names.modules.get(module)
        return facts is not None and facts[1].short_lived
