"""The webhook subscriptions projection: subscriptions and the state of each delivery."""

from __future__ import annotations

import json
from typing import Any

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts.notify import (
    SubscriptionCancelled,
    SubscriptionRegistered,
    WebhookDeadLettered,
    WebhookDeliveryAttempted,
    WebhookReplayRequested,
)
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import AggregateKey
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)

metadata = MetaData()
subscriptions = Table(
    "notify_subscriptions", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("reminders", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)
deliveries = Table(
    "notify_webhook_deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("subscription_id", String(64), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("source_sequence", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # delivered / retrying / dead
    Column("status_code", Integer),
    Column("last_error", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

_insert_delivery = deliveries.insert()
_update_delivery = (
    update(deliveries).where(deliveries.c.delivery_id == bindparam("did"))
    .values(attempts=bindparam("attempts"), status=bindparam("status"), status_code=bindparam("code"),
            last_error=bindparam("err"), updated_at=bindparam("at"))
)


class SubscriptionsProjection(Projection):
    name = "notify_subscriptions"
    version = 1
    subjects = ("ducha.ev.notify._.subscription.>",)
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        p, sid, at = event.payload, event.aggregate_id, event.occurred_at.isoformat()
        if isinstance(p, SubscriptionRegistered):
            conn.execute(subscriptions.insert().values(
                id=sid, unit_id=p.unit_id, url=p.url, format=p.format.value, event_types=json.dumps(list(p.event_types)),
                description=p.description, reminders=p.reminders, active=True, generation=0,
                created_by=event.actor.id, created_at=at))
        elif isinstance(p, SubscriptionCancelled):
            conn.execute(update(subscriptions).where(subscriptions.c.id == sid).values(active=False))
        elif isinstance(p, WebhookReplayRequested):
            conn.execute(update(subscriptions).where(subscriptions.c.id == sid).values(generation=p.generation))
        elif isinstance(p, (WebhookDeliveryAttempted, WebhookDeadLettered)):
            if isinstance(p, WebhookDeliveryAttempted):
                status = "delivered" if p.ok else "retrying"
                attempts, code, err = p.attempt, p.status_code, p.error
            else:
                status, attempts, code, err = "dead", p.attempts, None, p.last_error
            values = {"did": p.delivery_id, "attempts": attempts, "status": status, "code": code, "err": err, "at": at}
            if conn.execute(_update_delivery, values).rowcount == 0:
                conn.execute(_insert_delivery, {
                    "delivery_id": p.delivery_id, "subscription_id": sid, "generation": p.generation,
                    "source_sequence": p.source_sequence, "event_type": p.source_event_type, "attempts": attempts,
                    "status": status, "status_code": code, "last_error": err, "updated_at": at})


def active_subscription_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(subscriptions.c.id).where(subscriptions.c.active.is_(True)))]


def subscription_row(conn: Connection, sid: str) -> dict[str, Any] | None:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == sid)).mappings().first()
    if row is None:
        return None
    return subscription_out(dict(row))


def subscription_out(row: dict[str, Any]) -> dict[str, Any]:
    """A subscription row as the API shows it: `event_types` a list, not its stored JSON text."""
    return {**row, "event_types": json.loads(row["event_types"])}


def robot_subscriptions(conn: Connection, unit_id: str) -> list[dict[str, Any]]:
    """Active WeCom/DingTalk subscriptions of a unit that take reminders."""
    rows = conn.execute(select(subscriptions).where(
        subscriptions.c.unit_id == unit_id, subscriptions.c.active.is_(True), subscriptions.c.reminders.is_(True),
        subscriptions.c.format.in_(("wecom", "dingtalk")))).mappings()
    return [dict(r) for r in rows]


def key(sid: str) -> AggregateKey:
    return AggregateKey("notify", "subscription", sid)
