"""Reading the webhook subscriptions projection."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, select

from .tables import subscriptions


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
