"""Small real Mix apps booted before and after ``check --fix --unsafe-fixes``: every app still
boots, each child a fix adds is started once (never a second child for a name the app already
starts, in whatever spelling), in the right place, and the app stays ``mix format``-clean.

The apps (``tests/apps/``): ``spellings`` starts every name its code uses through a wrapper
``child_spec/0``, ``Supervisor.child_spec(.., id:)``, a positional ``Registry.start_link`` and
a conditional ``children ++ [...]``; ``web_shop`` is shaped like a Phoenix app with a
duplicate-keys Registry under the default name; ``app_server`` defines its GenServer in
``application.ex`` next to a DynamicSupervisor; ``boot_order`` starts, through a child that
is no user itself, a server whose ``init/1`` uses the Task.Supervisor the fix adds;
``late_endpoint`` starts its Endpoint before the rest of its infrastructure, and the
Task.Supervisor a non-web module's fix adds must still start before the Endpoint (stopped after
it, so no request being served finds it gone); ``piped_children`` pipes its children list
into a helper that joins a consumer after it (``[..] |> add_consumer(env)``), and the
Task.Supervisor goes into the list it is given; ``umbrella`` has two apps that both use
``:pg``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mix_apps
import pytest


@dataclass(frozen=True)
class Case:
    app: str
    supervisors: tuple[str, ...]
    added: frozenset[str]
    """Child ids the fixes add."""
    started_before: dict[str, str]
    """An added child -> a child it must start before (after the fixes)."""
    started_after: dict[str, str]
    """An added child -> a child it must start after (the infrastructure it may need)."""


CASES = [
    Case("spellings", ("Spellings.Supervisor",), frozenset(), {}, {}),
    Case(
        "web_shop",
        ("WebShop.Supervisor",),
        frozenset({"WebShop.TaskSupervisor", "WebShop.ProcessRegistry"}),
        {"WebShop.TaskSupervisor": "WebShopWeb.Endpoint"},
        {"WebShop.TaskSupervisor": "WebShop.Repo", "WebShop.ProcessRegistry": "WebShop.Repo"},
    ),
    Case(
        "app_server",
        ("AppServer.Supervisor",),
        frozenset({"AppServer.TaskSupervisor", ":pg"}),
        {"AppServer.TaskSupervisor": "AppServer.Server", ":pg": "AppServer.Server"},
        {},
    ),
    Case(
        "boot_order",
        ("BootOrder.Supervisor",),
        frozenset({"BootOrder.TaskSupervisor"}),
        {"BootOrder.TaskSupervisor": "BootOrder.Pool"},
        {"BootOrder.TaskSupervisor": "BootOrder.Repo"},
    ),
    Case(
        "late_endpoint",
        ("LateEndpoint.Supervisor",),
        frozenset({"LateEndpoint.TaskSupervisor"}),
        {"LateEndpoint.TaskSupervisor": "LateEndpointWeb.Endpoint"},
        {"LateEndpoint.TaskSupervisor": "LateEndpoint.Repo"},
    ),
    Case(
        "piped_children",
        ("PipedChildren.Supervisor",),
        frozenset({"PipedChildren.TaskSupervisor"}),
        {"PipedChildren.TaskSupervisor": "PipedChildrenWeb.Endpoint"},
        {"PipedChildren.TaskSupervisor": "PipedChildren.Repo"},
    ),
    Case(
        "umbrella",
        ("Alpha.Supervisor", "Beta.Supervisor"),
        frozenset({"Alpha.TaskSupervisor", "Beta.TaskSupervisor"}),
        {"Alpha.TaskSupervisor": "Alpha.Groups", "Beta.TaskSupervisor": "Beta.Groups"},
        {},
    ),
]


def started_children(app: Path, supervisors: tuple[str, ...]) -> list[str]:
    """Every child id of ``supervisors`` (as ``Supervisor:id``), in the order they started."""
    expression = "; ".join(
        f'IO.puts("child: supervisor {s}"); {mix_apps.which_children(s)}' for s in supervisors
    )
    result = mix_apps.boot(app, expression)
    assert result.returncode == 0, f"{app.name} does not boot:\n{result.stdout}\n{result.stderr}"
    children: list[str] = []
    own: list[str] = []
    for line in [*mix_apps.children_in(result.stdout), "supervisor "]:
        if line.startswith("supervisor "):
            children.extend(reversed(own))  # which_children lists the last started first
            own = []
        else:
            own.append(line)
    return children


@mix_apps.needs_mix
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.app)
def test_fixed_app_boots_with_each_added_child_once(case: Case, tmp_path: Path) -> None:
    app = mix_apps.copy_app(case.app, tmp_path)
    assert mix_apps.formatted(app).returncode == 0, f"{case.app} is not formatted to start with"
    before = started_children(app, case.supervisors)

    fixed = mix_apps.fix(app)
    assert fixed.returncode in (0, 1), fixed.stderr

    after = started_children(app, case.supervisors)
    assert len(after) == len(set(after)), f"a child started twice: {after}"
    assert set(after) - set(before) == case.added
    assert set(before) <= set(after)
    for child, user in case.started_before.items():
        assert after.index(child) < after.index(user), after
    for child, infrastructure in case.started_after.items():
        assert after.index(infrastructure) < after.index(child), after
    formatted = mix_apps.formatted(app)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
