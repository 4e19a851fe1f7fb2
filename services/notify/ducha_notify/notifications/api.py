"""HTTP API of notifications: templates (office edits), inbox (each person's notifications), the
notification record ("who was warned, when") and a manual scan."""

from __future__ import annotations

from typing import Annotated, Any

from ducha.contracts import Role
from ducha.contracts.notify import NotificationRead, TemplateUpdated
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    Command,
    CommandAnswer,
    CurrentActor,
    KernelDep,
    PathId,
    ReadAfter,
    RequestBody,
    command_answer,
    require_role,
)
from ducha.kernel.lookup import facts_with_wait
from ducha.kernel.subjects import AggregateKey
from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import Connection, select

from ..db import query, reader
from ..directory import visibility as vis
from . import templates as tpl
from .domain import notification_key
from .jobs import scan
from .queries import template
from .tables import inbox, notifications, outbox

router = APIRouter(prefix="/v1", tags=["notifications"], responses=QUERY_ERRORS)


class TemplateBody(RequestBody):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)



@router.get("/templates", summary="message templates in force (office)", dependencies=[ReadAfter])
async def list_templates(actor: CurrentActor, kernel: KernelDep) -> list[dict[str, Any]]:
    require_role(actor, Role.OFFICE, Role.SYSTEM)

    def read(conn: Connection) -> list[dict[str, Any]]:
        out = []
        for kind in tpl.DEFAULTS:
            subject, body, version = template(conn, kind)
            out.append({"kind": kind, "subject": subject, "body": body, "version": version})
        return out

    return await query(kernel, read)


@router.get("/templates/placeholders", summary="placeholders a template may use")
async def placeholders(actor: CurrentActor) -> list[str]:
    return sorted(tpl.PLACEHOLDERS)


class TemplateAnswer(CommandAnswer):
    kind: str
    version: int | None


class ReadAnswer(CommandAnswer):
    notification_id: str = Field(description="deprecated: the same as `id`")
    read: bool


@router.put("/templates/{kind}", response_model=TemplateAnswer, responses=COMMAND_ERRORS, summary="replace a template (office)")
async def update_template(kind: PathId, body: TemplateBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_role(ctx.actor, Role.OFFICE)
    tpl.validate(kind, body.subject, body.body)
    event = TemplateUpdated(kind=kind, subject=body.subject, body=body.body)
    result = await kernel.commands.run(AggregateKey("notify", "template", kind), ctx, lambda _l: [event])
    # A template that did not change stores nothing: its version is the aggregate's as it stands.
    version = result.events[-1].aggregate_version if result.events else None
    return {**command_answer(result, kind), "kind": kind, "version": version}


@router.get("/inbox", summary="my notifications, newest first", dependencies=[ReadAfter])
async def my_inbox(actor: CurrentActor, kernel: KernelDep,
                   unread: Annotated[bool, Query()] = False) -> list[dict[str, Any]]:
    def read(conn: Connection) -> list[dict[str, Any]]:
        q = (select(notifications, inbox.c.read_at)
             .join(inbox, inbox.c.notification_id == notifications.c.id)
             .where(inbox.c.person_id == actor.id).order_by(notifications.c.sequence.desc()))
        if unread:
            q = q.where(inbox.c.read_at.is_(None))
        view = vis.viewer(conn, actor)
        out = []
        for row in conn.execute(q).mappings():
            if not vis.problem_visible(conn, view, row["problem_id"]):
                continue  # e.g. a problem withdrawn since: it disappears for the unit
            item = dict(row)
            item["body"] = item["body"].replace("{recipient_name}", actor.name or "您好")
            item["read"] = item["read_at"] is not None
            out.append(item)
        return out

    return await query(kernel, read)


@router.post("/inbox/{nid}/read", response_model=ReadAnswer, responses=COMMAND_ERRORS, summary="mark one of my notifications read",
             dependencies=[ReadAfter])
async def mark_read(nid: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:

    def mine(conn: Connection) -> str | None:
        return conn.execute(select(inbox.c.person_id).where(
            inbox.c.notification_id == nid, inbox.c.person_id == actor.id)).scalar_one_or_none()

    await facts_with_wait(kernel, reader(kernel, mine), what=f"no notification {nid} in your inbox")
    # Marking read is idempotent by nature: one command id per notification and person.
    ctx = CommandContext(actor, derived_id("notify-read", nid, actor.id))
    result = await kernel.commands.run(
        notification_key(nid), ctx, lambda _l: [NotificationRead(person_id=actor.id)])
    return {**command_answer(result, nid), "notification_id": nid, "read": True}


@router.get("/notifications", summary="the record: what was sent to whom, when (office, cadre)",
            dependencies=[ReadAfter])
async def notification_record(actor: CurrentActor, kernel: KernelDep,
                              problem_id: Annotated[str | None, Query()] = None,
                              kind: Annotated[str | None, Query()] = None,
                              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    require_role(actor, Role.OFFICE, Role.CADRE, Role.SYSTEM)

    def read(conn: Connection) -> list[dict[str, Any]]:
        q = select(notifications).order_by(notifications.c.sequence).limit(limit)
        if problem_id:
            q = q.where(notifications.c.problem_id == problem_id)
        if kind:
            q = q.where(notifications.c.kind == kind)
        out = []
        for row in conn.execute(q).mappings():
            deliveries = conn.execute(select(outbox).where(outbox.c.notification_id == row["id"])).mappings()
            out.append({**dict(row), "deliveries": [dict(x) for x in deliveries]})
        return out

    return await query(kernel, read)


@router.post("/notify/scan", summary="run the escalation / revisit / digest scan now (office, system)")
async def run_scan(actor: CurrentActor, kernel: KernelDep) -> dict[str, int]:
    require_role(actor, Role.OFFICE, Role.SYSTEM)
    # 503 in the error format (never 500) when the directory cannot catch up within a read wait
    return {"requested": await scan(kernel, catch_up_seconds=max(kernel.settings.read_wait_seconds, 1.0))}
