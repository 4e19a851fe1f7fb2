"""Reading the notifications projection: the template in force, what is still to send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from . import templates as tpl
from .tables import notifications, outbox, template_table


def template(conn: Connection, kind: str) -> tuple[str, str, int]:
    """(subject, body, version) in force; version 0 = the built-in default."""
    row = conn.execute(select(template_table).where(template_table.c.kind == kind)).mappings().first()
    if row is None:
        subject, body = tpl.DEFAULTS[kind]
        return subject, body, 0
    return row["subject"], row["body"], int(row["version"])


def pending(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(outbox, notifications.c.subject, notifications.c.body, notifications.c.unit_id)
        .join(notifications, notifications.c.id == outbox.c.notification_id)
        .where(outbox.c.status == "pending").order_by(notifications.c.sequence).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
