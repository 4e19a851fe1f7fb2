"""HTTP API of digests: a unit's or a team's due, overdue and rejected problems, as the caller
may see them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ducha.contracts import Role
from ducha.kernel.calendar import city_today
from ducha.kernel.errors import Forbidden
from ducha.kernel.http import (
    QUERY_ERRORS,
    CurrentActor,
    KernelDep,
    PathId,
    ReadAfter,
    require_role,
    require_scope,
)
from fastapi import APIRouter
from sqlalchemy import Connection

from ..db import query
from ..directory import visibility as vis
from .queries import digest_for

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

router = APIRouter(prefix="/v1", tags=["notifications"], responses=QUERY_ERRORS)


def _today(kernel: Kernel, day: date | None) -> date:
    if day:
        return day
    return city_today(kernel.clock)


@router.get("/digests/units/{unit}", summary="a unit's digest: due, overdue, rejected", dependencies=[ReadAfter])
async def unit_digest(unit: PathId, actor: CurrentActor, kernel: KernelDep, day: date | None = None) -> dict[str, Any]:
    require_role(actor, Role.UNIT, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM, doing="read a unit's digest")
    if actor.role == Role.UNIT and actor.unit_id != unit:
        raise Forbidden("a unit sees only its own digest")
    today = _today(kernel, day)

    def read(conn: Connection) -> dict[str, Any]:
        view = vis.viewer(conn, actor)
        if actor.role == Role.TEAM and unit not in view.team_units:
            raise Forbidden("a team reads only the digests of units it is assigned to (本组未分派到该单位)")
        return digest_for(conn, today, view, unit_id=unit)

    body = await query(kernel, read)
    return {"unit_id": unit, "day": today.isoformat(), **body}


@router.get("/digests/teams/{team}", summary="a team's digest: due, overdue, rejected", dependencies=[ReadAfter])
async def team_digest(team: PathId, actor: CurrentActor, kernel: KernelDep, day: date | None = None) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM, doing="read a team's digest")
    require_scope(actor, team_id=team)
    today = _today(kernel, day)
    body = await query(kernel, lambda conn: digest_for(conn, today, vis.viewer(conn, actor), team_id=team))
    return {"team_id": team, "day": today.isoformat(), **body}


