"""The unit view (本单位): its own problems, what is due, what was rejected and why; the
helper department's list of problems it was assigned to help with; and everyone's 待办 page."""

from __future__ import annotations

import asyncio
from typing import Any

from ducha.contracts.base import Role
from fastapi import Request
from fastapi.responses import Response

from .. import backend
from ..runtime import get_web, render, require_session
from ..services import ApiError
from .common import clear_flash, redirect, router, take_flash

r = router()
UNIT_LIMIT = 500  # one unit's problems in one round are tens, not thousands


@r.get("/unit", include_in_schema=False)
async def unit_view(request: Request, round_id: str | None = None) -> Response:
    session = await require_session(request)
    if session.actor.role != Role.UNIT:
        return redirect("/dashboard")
    web = await get_web(request)
    s, token = web.services, session.token
    page, inbox, queues = await asyncio.gather(
        backend.ledger(s, token, {"round_id": round_id}, UNIT_LIMIT, 0),
        backend.optional(s.get("notify", "/v1/inbox", token, limit=10), None),
        web.queues.get(s, token, session.actor),
    )
    items: list[dict[str, Any]] = page.get("items", [])
    open_items = [p for p in items if p.get("status") in ("awaiting_commitment", "rectifying")]
    to_commit = [p for p in open_items if not p.get("deadline")]
    due = sorted([p for p in open_items if p.get("deadline")], key=lambda p: str(p["deadline"]))
    # Once resubmitted, the old reasons are no longer the unit's to-do.
    rejected = [p for p in items if p.get("last_rejection_reasons") and p.get("status") in
                ("rectifying", "awaiting_commitment")]
    reminders = [p for p in items if p.get("open_reminders")]
    counts = {"total": page.get("total", len(items)), "open": len(open_items),
              "red": sum(1 for p in items if p.get("light") == "red"),
              "submitted": sum(1 for p in items if p.get("status") == "submitted"),
              "done": sum(1 for p in items if p.get("status") in ("written_off", "accepted"))}
    notes: list[dict[str, Any]] = []
    if isinstance(inbox, dict):
        notes = inbox.get("items") or inbox.get("notifications") or []
    elif isinstance(inbox, list):
        notes = inbox
    ctx = take_flash(request)
    resp = await render(request, "unit.html", session, "unit", items=items, to_commit=to_commit, due=due,
                        rejected=rejected, reminders=reminders, counts=counts, notes=notes[:10], queues=queues,
                        **ctx)
    return clear_flash(resp, ctx)


@r.get("/helper", include_in_schema=False)
async def helper_view(request: Request) -> Response:
    session = await require_session(request)
    if session.actor.role != Role.HELPER:
        return redirect("/")
    web = await get_web(request)
    try:
        page = await backend.ledger(web.services, session.token, {}, UNIT_LIMIT, 0)
    except ApiError as exc:
        if exc.status == 401:
            raise
        page = {"items": [], "total": 0}
    queues = await web.queues.get(web.services, session.token, session.actor)
    return await render(request, "helper.html", session, "helper", items=page.get("items", []), queues=queues)


@r.get("/todo", include_in_schema=False)
async def todo(request: Request) -> Response:
    """待办: every queue of the person's role, counted now, each linking to its list."""
    session = await require_session(request)
    web = await get_web(request)
    queues = await web.queues.get(web.services, session.token, session.actor, fresh=True)
    confirm: list[dict[str, Any]] = []
    if session.actor.role == Role.TEAM and session.actor.team_leader:
        body = await backend.optional(web.services.get("verification", "/v1/problems", session.token,
                                                       team_id=session.actor.team_id, stage="submitted"), {})
        confirm = [p for p in (body or {}).get("problems", [])
                   if p.get("proposal_submission_no") is not None and p.get("proposed_by") != session.actor.id]
    return await render(request, "todo.html", session, "todo", queues=queues, confirm=confirm)
