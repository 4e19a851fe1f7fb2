"""Time and identifiers behind small interfaces, so tests can control them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """Another clock moved by a fixed offset: development only (`DUCHA_DEV_CLOCK_OFFSET`), to drive
    deadlines, red lights and escalations on a running system without waiting for days."""

    def __init__(self, offset: timedelta, base: Clock | None = None) -> None:
        self.offset = offset
        self.base = base or SystemClock()

    def now(self) -> datetime:
        return self.base.now() + self.offset


_OFFSET_RE = re.compile(r"^([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_offset(text: str) -> timedelta:
    """`+7d`, `-2h`, `1d12h`, `90m` → a timedelta."""
    match = _OFFSET_RE.match(text.strip())
    if not match or not any(match.group(i) for i in (2, 3, 4)):
        raise ValueError(f"{text!r} is not an offset like +7d, -2h, 1d12h or 90m")
    sign, days, hours, minutes = match.groups()
    delta = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))
    return -delta if sign == "-" else delta


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
