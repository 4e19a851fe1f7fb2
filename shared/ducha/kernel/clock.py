"""Time and identifiers behind small interfaces, so tests can control them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


def new_id() -> str:
    return uuid.uuid4().hex


def derived_id(*parts: str) -> str:
    """A stable id from a command id (and more): a retried creation targets the same aggregate."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "ducha:" + ":".join(parts)).hex
