"""The notifications projection: templates in force, each notification with its recipients
(inbox, read or unread) and its outbox (one row per channel and address, with its outcome)."""

from __future__ import annotations

from typing import Any

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts.notify import (
    Channel,
    NotificationFailed,
    NotificationRead,
    NotificationRequested,
    NotificationSent,
    TemplateUpdated,
)
from ducha.kernel.projection import Projection
from sqlalchemy import (
    Connection,
    and_,
    update,
)

from .tables import inbox, metadata, notifications, outbox, template_table


def _outbox_where(nid: str, channel: str, address: str) -> Any:
    return and_(outbox.c.notification_id == nid, outbox.c.channel == channel, outbox.c.address == address)


class NotificationsProjection(Projection):
    name = "notify_notifications"
    version = 1
    subjects = ("ducha.ev.notify._.notification.>", "ducha.ev.notify._.template.>")
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        p, nid, at = event.payload, event.aggregate_id, event.occurred_at
        if isinstance(p, TemplateUpdated):
            conn.execute(template_table.delete().where(template_table.c.kind == p.kind))
            conn.execute(template_table.insert().values(kind=p.kind, subject=p.subject, body=p.body,
                                                        version=event.aggregate_version, updated_by=event.actor.id,
                                                        updated_at=at))
        elif isinstance(p, NotificationRequested):
            conn.execute(notifications.insert().values(
                id=nid, cause=p.cause, kind=p.kind, unit_id=p.unit_id, team_id=p.team_id, problem_id=p.problem_id,
                subject=p.subject, body=p.body, created_at=at, sequence=event.sequence))
            seen: set[tuple[str, str]] = set()
            for r in p.recipients:
                if r.person_id and ("inbox", r.person_id) not in seen:
                    seen.add(("inbox", r.person_id))
                    conn.execute(inbox.insert().values(notification_id=nid, person_id=r.person_id, read_at=None))
                if r.email and ("email", r.email.lower()) not in seen:
                    seen.add(("email", r.email.lower()))
                    conn.execute(outbox.insert().values(notification_id=nid, channel=Channel.EMAIL.value, address=r.email,
                                                        person_id=r.person_id, name=r.name, status="pending",
                                                        attempts=0, last_error="", updated_at=at))
            for sid in p.robot_subscription_ids:
                conn.execute(outbox.insert().values(notification_id=nid, channel=Channel.ROBOT.value, address=sid,
                                                    person_id=None, name="", status="pending", attempts=0,
                                                    last_error="", updated_at=at))
        elif isinstance(p, NotificationSent):
            conn.execute(update(outbox).where(_outbox_where(nid, p.channel.value, p.address)).values(
                status="sent", attempts=p.attempt, updated_at=at))
        elif isinstance(p, NotificationFailed):
            conn.execute(update(outbox).where(_outbox_where(nid, p.channel.value, p.address)).values(
                status="failed" if p.final else "pending", attempts=p.attempt, last_error=p.error, updated_at=at))
        elif isinstance(p, NotificationRead):
            conn.execute(update(inbox).where(inbox.c.notification_id == nid, inbox.c.person_id == p.person_id,
                                             inbox.c.read_at.is_(None)).values(read_at=at))
