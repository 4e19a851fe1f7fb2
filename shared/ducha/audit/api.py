"""HTTP: a problem's timeline, for a service to include (`app.include_router(audit_router())`).

What a reader sees is decided by the disclosure policy (`ducha.disclosure`): a service passes
`team_units` (the units a team is assigned to, from its own projection) so that a team sees the
problems of its units."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query

from ..contracts.base import Actor, Role
from ..disclosure import Viewer
from ..kernel.errors import Forbidden, NotFound
from ..kernel.http import ERROR_RESPONSES, ID_PATTERN, CurrentActor, KernelDep, PathId
from ..kernel.runtime import Kernel
from .timeline import disclosed_timeline

TeamUnits = Callable[[Kernel, str], Awaitable[set[str]]]


async def no_team_units(kernel: Kernel, team_id: str) -> set[str]:
    return set()


async def viewer_of(actor: Actor, kernel: Kernel, team_units: TeamUnits = no_team_units) -> Viewer:
    units = await team_units(kernel, actor.team_id) if actor.role == Role.TEAM and actor.team_id else set()
    return Viewer.of(actor, units)


def audit_router(team_units: TeamUnits = no_team_units) -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get(
        "/problems/{problem_id}/timeline",
        summary="问题全过程：a problem's complete history across all services",
        responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404)},
    )
    async def timeline(
        kernel: KernelDep,
        problem_id: PathId,
        actor: CurrentActor,
        unit: str = Query(description="the problem's unit id", pattern=ID_PATTERN),
    ) -> dict[str, Any]:
        if actor.role == Role.PUBLIC:
            raise Forbidden(f"role '{actor.role.value}' may not read audit timelines")
        viewer = await viewer_of(actor, kernel, team_units)
        try:
            entries = await disclosed_timeline(kernel.store, unit, problem_id, viewer)
        except ValueError:
            raise NotFound(f"no problem {problem_id}") from None
        if not entries:
            raise NotFound(f"no problem {problem_id}")  # not visible = not there
        return {"problem_id": problem_id, "unit_id": unit, "events": entries}

    return router
