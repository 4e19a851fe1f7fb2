"""The webhook subscriptions projection: subscriptions and the state of each delivery."""

from __future__ import annotations

import json

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts.notify import (
    SubscriptionCancelled,
    SubscriptionRegistered,
    WebhookDeadLettered,
    WebhookDeliveryAttempted,
    WebhookReplayRequested,
)
from ducha.kernel.projection import Projection
from sqlalchemy import (
    Connection,
    bindparam,
    update,
)

from .tables import deliveries, metadata, subscriptions

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
