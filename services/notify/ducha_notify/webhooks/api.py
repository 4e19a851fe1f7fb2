"""HTTP API of webhook subscriptions: register, list, inspect, cancel, replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from ducha.contracts import Actor, Role, registry
from ducha.contracts.notify import SubscriptionRegistered, WebhookFormat
from ducha.kernel.clock import derived_id
from ducha.kernel.errors import InvalidCommand
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
    require_scope,
)
from ducha.kernel.lookup import facts_with_wait
from fastapi import APIRouter, Query
from pydantic import Field, HttpUrl
from sqlalchemy import Connection, select

from ..db import query, reader
from ..runtime import runtime
from ..scopes import unit_scope
from . import formats
from .domain import decide_cancel, decide_replay, subscription_key
from .outbound import TargetRefused, check_registration
from .projection import SubscriptionsProjection
from .queries import subscription_out, subscription_row
from .sealing import has_secret, redact, seal, subscription_secret
from .tables import deliveries, subscriptions

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=QUERY_ERRORS)


class RegisterWebhook(RequestBody):
    url: HttpUrl
    unit_id: str | None = Field(default=None, description="office only; a unit registers for itself")
    event_types: list[str] = Field(default=[], description="empty: every event type of the unit")
    format: WebhookFormat = WebhookFormat.JSON
    description: str = ""
    reminders: bool = True
    start_after: int = Field(default=0, ge=0, description="deliver events after this log sequence")


class Replay(RequestBody):
    from_sequence: int = Field(ge=1)


ROLES = (Role.UNIT, Role.OFFICE, Role.SYSTEM)  # who may see subscriptions (a unit: its own)


def _key(kernel: Kernel) -> bytes:
    return runtime(kernel).key


class Registered(CommandAnswer):
    subscription_id: str = Field(description="deprecated: the same as `id`")
    unit_id: str
    url: str = Field(description="the URL as stored and shown: robot keys, tokens and passwords masked as ***")
    secret: str
    signature_header: str = Field(description="`t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.\" + body>`")
    delivery_header: str = Field(description="the stable delivery id: deduplicate by it (at-least-once)")
    signature_tolerance_seconds: int


class SubscriptionAnswer(CommandAnswer):
    subscription_id: str = Field(description="deprecated: the same as `id`")


@router.post("", status_code=201, response_model=Registered, responses=COMMAND_ERRORS, summary="register a webhook for a unit's events")
async def register(body: RegisterWebhook, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    unit = unit_scope(ctx.actor, body.unit_id)
    known = registry.types()
    for et in body.event_types:
        if et not in known:
            raise InvalidCommand(f"unknown event type {et}", field="event_types")
    try:
        await check_registration(str(body.url), runtime(kernel).allow)
    except TargetRefused as exc:
        raise InvalidCommand(f"this URL may not be called: {exc.reason}", field="url") from None
    sid = derived_id("subscription", ctx.command_id)[:32]
    url = str(body.url)
    key = _key(kernel)
    event = SubscriptionRegistered(unit_id=unit, url=redact(url), sealed_url=seal(key, url) if has_secret(url) else "",
                                   event_types=tuple(body.event_types),
                                   format=body.format, description=body.description, reminders=body.reminders,
                                   start_after=body.start_after)
    result = await kernel.commands.run(subscription_key(sid), ctx, lambda _l: [event])
    return {**command_answer(result, sid), "subscription_id": sid, "unit_id": unit, "url": event.url,
            "secret": subscription_secret(key, sid), "signature_header": formats.SIGNATURE_HEADER,
            "delivery_header": formats.DELIVERY_HEADER,
            "signature_tolerance_seconds": formats.SIGNATURE_TOLERANCE_SECONDS}


@router.get("", summary="webhook subscriptions (a unit: its own)", dependencies=[ReadAfter])
async def list_subscriptions(actor: CurrentActor, kernel: KernelDep) -> list[dict[str, Any]]:
    require_role(actor, *ROLES, doing="list webhook subscriptions")
    listing = select(subscriptions).order_by(subscriptions.c.created_at)
    if actor.role == Role.UNIT:
        listing = listing.where(subscriptions.c.unit_id == actor.unit_id)
    return await query(kernel, lambda conn: [subscription_out(dict(r)) for r in conn.execute(listing).mappings()])


@router.get("/{sid}", summary="one subscription with its delivery counts", dependencies=[ReadAfter])
async def get_subscription(sid: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    row = await _owned(sid, actor, kernel)

    def read(conn: Connection) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in conn.execute(select(deliveries.c.status).where(deliveries.c.subscription_id == sid)):
            counts[r[0]] = counts.get(r[0], 0) + 1
        return {**row, "deliveries": counts}

    return await query(kernel, read)


@router.get("/{sid}/secret", summary="the signing secret (owner or office)")
async def get_secret(sid: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, str]:
    await _owned(sid, actor, kernel)
    return {"subscription_id": sid, "secret": subscription_secret(_key(kernel), sid)}


@router.get("/{sid}/deliveries", summary="deliveries (status: delivered, retrying, dead)", dependencies=[ReadAfter])
async def list_deliveries(sid: PathId, actor: CurrentActor, kernel: KernelDep,
                          status: Annotated[str | None, Query()] = None,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    await _owned(sid, actor, kernel)

    q = select(deliveries).where(deliveries.c.subscription_id == sid)
    if status:
        q = q.where(deliveries.c.status == status)
    q = q.order_by(deliveries.c.generation, deliveries.c.source_sequence).limit(limit)
    return await query(kernel, lambda conn: [dict(r) for r in conn.execute(q).mappings()])


async def _owned(sid: str, actor: Actor, kernel: Kernel) -> dict[str, Any]:
    """The subscription, if the actor may see it. One registered a moment ago may not be in the
    projection yet: wait for it to reach the log's end before answering 404 (or 503)."""

    missing = f"no webhook subscription {sid}"
    row = await facts_with_wait(kernel, reader(kernel, lambda conn: subscription_row(conn, sid)),
                                what=missing, projections=(SubscriptionsProjection.name,))
    require_role(actor, *ROLES, doing="see webhook subscriptions")
    require_scope(actor, unit_id=row["unit_id"], missing=missing)
    return row


@router.delete("/{sid}", response_model=SubscriptionAnswer, responses=COMMAND_ERRORS, summary="cancel a subscription")
async def cancel(sid: PathId, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    await _owned(sid, ctx.actor, kernel)
    result = await kernel.commands.run(subscription_key(sid), ctx, lambda l: decide_cancel(l, ""))
    return {**command_answer(result, sid), "subscription_id": sid}


@router.post("/{sid}/replay", response_model=SubscriptionAnswer, responses=COMMAND_ERRORS, summary="deliver again from a log sequence (new delivery ids)")
async def replay(sid: PathId, body: Replay, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    await _owned(sid, ctx.actor, kernel)
    result = await kernel.commands.run(subscription_key(sid), ctx, lambda l: decide_replay(l, body.from_sequence))
    runtime(kernel).poke_webhooks(sid)
    return {**command_answer(result, sid), "subscription_id": sid}
