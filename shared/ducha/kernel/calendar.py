"""Dates as the city sees them, shared by every context so that "today", commitment dates and
working-day windows agree everywhere: calendar days in Asia/Shanghai, whatever the server's zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .clock import Clock

CITY_TZ = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The calendar date of `moment` in the city."""
    return moment.astimezone(CITY_TZ).date()


def city_today(clock: Clock) -> date:
    return local_date(clock.now())


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
