"""Dates as the city sees them (Asia/Shanghai) and working-day arithmetic for deadlines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The calendar date of `moment` in Shanghai."""
    return moment.astimezone(LOCAL_TZ).date()


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """The date `days` working days (Mon–Fri, not a holiday) after `start`.

    `start` itself never counts: feedback on Friday with 1 working day gives Monday."""
    if days < 0:
        raise ValueError("days must not be negative")
    off = frozenset(holidays)
    current = start
    left = days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in off:
            left -= 1
    return current


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)
