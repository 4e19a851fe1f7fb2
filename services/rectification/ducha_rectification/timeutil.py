"""Dates as the city sees them: deadlines are calendar days in Asia/Shanghai, whatever the server's
timezone. One place, so every light, warning and refusal agrees on what "today" is."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(CITY_TZ).date()


def today(clock: object) -> date:
    return local_date(clock.now())  # type: ignore[attr-defined]


def add_working_days(start: date, days: int) -> date:
    """`days` working days after `start`, skipping weekends (no holiday calendar yet)."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current
