"""HTTP API of digests: a unit's or a team's due, overdue and rejected problems, as the caller
may see them."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from ducha.contracts import Role
from ducha.kernel.calendar import city_today
from ducha.kernel.errors import Forbidden
from ducha.kernel.http import ERROR_RESPONSES, CurrentActor, PathId, ReadAfter
from fastapi import APIRouter, Request

from ..directory import visibility as vis
from .queries import digest_for

router = APIRouter(prefix="/v1", tags=["notifications"], responses=ERROR_RESPONSES)


def _read(request: Request, fn: Any) -> Any:
    def run() -> Any:
        with request.app.state.kernel.engine.connect() as conn:
            return fn(conn)

    return asyncio.to_thread(run)


def _today(request: Request, day: date | None) -> date:
    if day:
        return day
    return city_today(request.app.state.kernel.clock)


@router.get("/digests/units/{unit}", summary="a unit's digest: due, overdue, rejected", dependencies=[ReadAfter])
async def unit_digest(unit: PathId, actor: CurrentActor, request: Request, day: date | None = None) -> dict[str, Any]:
    if actor.role == Role.UNIT and actor.unit_id != unit:
        raise Forbidden("a unit sees only its own digest")
    if actor.role not in (Role.UNIT, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM):
        raise Forbidden("not allowed")
    today = _today(request, day)

    def read(conn: Any) -> dict[str, Any]:
        view = vis.viewer(conn, actor)
        if actor.role == Role.TEAM and unit not in view.team_units:
            raise Forbidden("a team reads only the digests of units it is assigned to (本组未分派到该单位)")
        return digest_for(conn, today, view, unit_id=unit)

    body = await _read(request, read)
    return {"unit_id": unit, "day": today.isoformat(), **body}


@router.get("/digests/teams/{team}", summary="a team's digest: due, overdue, rejected", dependencies=[ReadAfter])
async def team_digest(team: PathId, actor: CurrentActor, request: Request, day: date | None = None) -> dict[str, Any]:
    if actor.role == Role.TEAM and actor.team_id != team:
        raise Forbidden("a team sees only its own digest")
    if actor.role not in (Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM):
        raise Forbidden("not allowed")
    today = _today(request, day)
    body = await _read(request, lambda conn: digest_for(conn, today, vis.viewer(conn, actor), team_id=team))
    return {"team_id": team, "day": today.isoformat(), **body}


