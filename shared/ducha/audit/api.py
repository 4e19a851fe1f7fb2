"""HTTP: a problem's timeline, for a service to include (`app.include_router(audit_router())`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ..contracts.base import Actor, Role
from ..kernel.errors import Forbidden, NotFound
from ..kernel.http import ERROR_RESPONSES, CurrentActor
from .timeline import problem_timeline


def may_see(actor: Actor, unit_id: str, entries: list[dict[str, Any]]) -> bool:
    """Office, cadre supervision and auditors: every problem; a team: the problems it reported; a
    unit: its own."""
    if actor.role in (Role.OFFICE, Role.CADRE, Role.AUDITOR):
        return True
    if actor.role == Role.UNIT:
        return actor.unit_id == unit_id
    if actor.role == Role.TEAM:
        teams = {e["changes"].get("team_id") for e in entries if e["event_type"] == "IssueReported"}
        return actor.team_id in teams
    return False


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get(
        "/problems/{problem_id}/timeline",
        summary="问题全过程：a problem's complete history across all services",
        responses={k: ERROR_RESPONSES[k] for k in (401, 403, 404)},
    )
    async def timeline(
        request: Request,
        problem_id: str,
        actor: CurrentActor,
        unit: str = Query(description="the problem's unit id"),
    ) -> dict[str, Any]:
        if actor.role not in (Role.OFFICE, Role.CADRE, Role.AUDITOR, Role.TEAM, Role.UNIT):
            raise Forbidden(f"role '{actor.role.value}' may not read audit timelines")
        if actor.role == Role.UNIT and actor.unit_id != unit:
            raise NotFound(f"no problem {problem_id}")
        try:
            entries = await problem_timeline(request.app.state.kernel.store, unit, problem_id)
        except ValueError:
            raise NotFound(f"no problem {problem_id}") from None
        if not entries or not may_see(actor, unit, entries):
            raise NotFound(f"no problem {problem_id}")  # not visible = not there
        return {"problem_id": problem_id, "unit_id": unit, "events": entries}

    return router
