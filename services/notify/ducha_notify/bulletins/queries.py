"""Reading the bulletins projection."""

from __future__ import annotations

import json

from ducha.contracts.notify import BulletinPublished
from sqlalchemy import Connection, select

from .tables import bulletins


def published(conn: Connection, bid: str) -> BulletinPublished | None:
    raw = conn.execute(select(bulletins.c.published).where(bulletins.c.id == bid)).scalar_one_or_none()
    return BulletinPublished.model_validate(json.loads(raw)) if raw else None
