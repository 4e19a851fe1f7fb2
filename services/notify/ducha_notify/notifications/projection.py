"""The notifications projection: templates in force, each notification with its recipients
(inbox, read or unread) and its outbox (one row per channel and address, with its outcome).

Set-based (replay speed): a batch's new notifications, inbox and outbox rows are inserted with one
prebuilt statement each; the outcomes (sent, failed, read) are merged per row in memory and written
with one prebuilt UPDATE each, after the inserts. No query per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
from ducha.kernel.batched import BatchedProjection
from ducha.kernel.projection import Projection
from sqlalchemy import Connection, and_, bindparam, update

from .tables import inbox, metadata, notifications, outbox, template_table

_insert_notification = notifications.insert()
_insert_inbox = inbox.insert()
_insert_outbox = outbox.insert()
_outbox_row = and_(outbox.c.notification_id == bindparam("nid"), outbox.c.channel == bindparam("ch"),
                   outbox.c.address == bindparam("addr"))
_outcome = update(outbox).where(_outbox_row).values(
    status=bindparam("status"), attempts=bindparam("attempts"), updated_at=bindparam("at"))
_outcome_with_error = update(outbox).where(_outbox_row).values(
    status=bindparam("status"), attempts=bindparam("attempts"), last_error=bindparam("err"), updated_at=bindparam("at"))
_read = update(inbox).where(inbox.c.notification_id == bindparam("nid"), inbox.c.person_id == bindparam("pid"),
                            inbox.c.read_at.is_(None)).values(read_at=bindparam("at"))


class Batch:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.notifications: list[dict[str, Any]] = []
        self.inbox: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.outcomes: dict[tuple[str, str, str], dict[str, Any]] = {}  # the last outcome per outbox row
        self.reads: dict[tuple[str, str], datetime] = {}  # the first read per inbox row

    def outcome(self, nid: str, channel: str, address: str, status: str, attempts: int, at: datetime,
                error: str | None = None) -> None:
        row = self.outcomes.setdefault((nid, channel, address), {"nid": nid, "ch": channel, "addr": address})
        row.update(status=status, attempts=attempts, at=at)
        if error is not None:
            row["err"] = error

    def flush(self) -> None:
        for stmt, rows in ((_insert_notification, self.notifications), (_insert_inbox, self.inbox),
                           (_insert_outbox, self.outbox)):
            if rows:
                self.conn.execute(stmt, rows)
        with_error = [r for r in self.outcomes.values() if "err" in r]
        without = [r for r in self.outcomes.values() if "err" not in r]
        if with_error:
            self.conn.execute(_outcome_with_error, with_error)
        if without:
            self.conn.execute(_outcome, without)
        if self.reads:
            self.conn.execute(_read, [{"nid": n, "pid": p, "at": at} for (n, p), at in self.reads.items()])


class NotificationsProjection(BatchedProjection[Batch]):
    name = "notify_notifications"
    version = 1
    subjects = ("ducha.ev.notify._.notification.>", "ducha.ev.notify._.template.>")
    metadata = metadata

    def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> Batch:
        return Batch(conn)

    @Projection.handles(TemplateUpdated)
    def _template(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(template_table.delete().where(template_table.c.kind == p.kind))
        b.conn.execute(template_table.insert().values(kind=p.kind, subject=p.subject, body=p.body,
                                                      version=e.aggregate_version, updated_by=e.actor.id,
                                                      updated_at=e.occurred_at))

    @Projection.handles(NotificationRequested)
    def _requested(self, b: Batch, e: Envelope[Any]) -> None:
        p, nid, at = e.payload, e.aggregate_id, e.occurred_at
        b.notifications.append({"id": nid, "cause": p.cause, "kind": p.kind, "unit_id": p.unit_id,
                                "team_id": p.team_id, "problem_id": p.problem_id, "subject": p.subject,
                                "body": p.body, "created_at": at, "sequence": e.sequence})
        seen: set[tuple[str, str]] = set()
        for r in p.recipients:
            if r.person_id and ("inbox", r.person_id) not in seen:
                seen.add(("inbox", r.person_id))
                b.inbox.append({"notification_id": nid, "person_id": r.person_id, "read_at": None})
            if r.email and ("email", r.email.lower()) not in seen:
                seen.add(("email", r.email.lower()))
                b.outbox.append({"notification_id": nid, "channel": Channel.EMAIL.value, "address": r.email,
                                 "person_id": r.person_id, "name": r.name, "status": "pending", "attempts": 0,
                                 "last_error": "", "updated_at": at})
        for sid in p.robot_subscription_ids:
            b.outbox.append({"notification_id": nid, "channel": Channel.ROBOT.value, "address": sid,
                             "person_id": None, "name": "", "status": "pending", "attempts": 0, "last_error": "",
                             "updated_at": at})

    @Projection.handles(NotificationSent)
    def _sent(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.outcome(e.aggregate_id, p.channel.value, p.address, "sent", p.attempt, e.occurred_at)

    @Projection.handles(NotificationFailed)
    def _failed(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.outcome(e.aggregate_id, p.channel.value, p.address, "failed" if p.final else "pending", p.attempt,
                  e.occurred_at, p.error)

    @Projection.handles(NotificationRead)
    def _marked_read(self, b: Batch, e: Envelope[Any]) -> None:
        b.reads.setdefault((e.aggregate_id, e.payload.person_id), e.occurred_at)
