"""The webhook subscriptions projection: subscriptions and the state of each delivery.

Set-based (replay speed): a batch's delivery outcomes are merged per delivery in memory, the
deliveries already stored found with one query, and the rows written with one prebuilt INSERT and
one prebuilt UPDATE. Subscriptions themselves (few) are written as they come.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts.notify import (
    SubscriptionCancelled,
    SubscriptionRegistered,
    WebhookDeadLettered,
    WebhookDeliveryAttempted,
    WebhookReplayRequested,
)
from ducha.kernel.batched import BatchedProjection
from ducha.kernel.projection import Projection
from sqlalchemy import Connection, bindparam, select, update

from ..batching import chunks
from .tables import deliveries, metadata, subscriptions

_insert_delivery = deliveries.insert()
_update_delivery = (
    update(deliveries).where(deliveries.c.delivery_id == bindparam("did"))
    .values(attempts=bindparam("attempts"), status=bindparam("status"), status_code=bindparam("code"),
            last_error=bindparam("err"), updated_at=bindparam("at"))
)


class Batch:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.deliveries: dict[str, dict[str, Any]] = {}  # delivery id -> its row as the batch leaves it

    def delivery(self, row: dict[str, Any]) -> None:
        known = self.deliveries.get(row["delivery_id"])
        if known is None:
            self.deliveries[row["delivery_id"]] = row
        else:  # the later outcome wins; where it happened stays as first recorded
            known.update(attempts=row["attempts"], status=row["status"], status_code=row["status_code"],
                         last_error=row["last_error"], updated_at=row["updated_at"])

    def flush(self) -> None:
        if not self.deliveries:
            return
        stored: set[str] = set()
        for part in chunks(sorted(self.deliveries)):
            stored.update(self.conn.execute(select(deliveries.c.delivery_id)
                                            .where(deliveries.c.delivery_id.in_(part))).scalars())
        new = [row for did, row in self.deliveries.items() if did not in stored]
        changed = [{"did": did, "attempts": row["attempts"], "status": row["status"], "code": row["status_code"],
                    "err": row["last_error"], "at": row["updated_at"]}
                   for did, row in self.deliveries.items() if did in stored]
        if new:
            self.conn.execute(_insert_delivery, new)
        if changed:
            self.conn.execute(_update_delivery, changed)


class SubscriptionsProjection(BatchedProjection[Batch]):
    name = "notify_subscriptions"
    version = 1
    subjects = ("ducha.ev.notify._.subscription.>",)
    metadata = metadata

    def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> Batch:
        return Batch(conn)

    @Projection.handles(SubscriptionRegistered)
    def _registered(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(subscriptions.insert().values(
            id=e.aggregate_id, unit_id=p.unit_id, url=p.url, format=p.format.value,
            event_types=json.dumps(list(p.event_types)), description=p.description, reminders=p.reminders,
            active=True, generation=0, created_by=e.actor.id, created_at=e.occurred_at.isoformat()))

    @Projection.handles(SubscriptionCancelled)
    def _cancelled(self, b: Batch, e: Envelope[Any]) -> None:
        b.conn.execute(update(subscriptions).where(subscriptions.c.id == e.aggregate_id).values(active=False))

    @Projection.handles(WebhookReplayRequested)
    def _replay(self, b: Batch, e: Envelope[Any]) -> None:
        b.conn.execute(update(subscriptions).where(subscriptions.c.id == e.aggregate_id)
                       .values(generation=e.payload.generation))

    @Projection.handles(WebhookDeliveryAttempted)
    def _attempted(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.delivery({"delivery_id": p.delivery_id, "subscription_id": e.aggregate_id, "generation": p.generation,
                    "source_sequence": p.source_sequence, "event_type": p.source_event_type,
                    "attempts": p.attempt, "status": "delivered" if p.ok else "retrying",
                    "status_code": p.status_code, "last_error": p.error, "updated_at": e.occurred_at.isoformat()})

    @Projection.handles(WebhookDeadLettered)
    def _dead(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.delivery({"delivery_id": p.delivery_id, "subscription_id": e.aggregate_id, "generation": p.generation,
                    "source_sequence": p.source_sequence, "event_type": p.source_event_type,
                    "attempts": p.attempts, "status": "dead", "status_code": None, "last_error": p.last_error,
                    "updated_at": e.occurred_at.isoformat()})
