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


def city_time(moment: datetime) -> datetime:
    """`moment` on the city's clock; a naive time is UTC (SQLite keeps no offset, we store UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(CITY_TZ)


def city_minute(moment: datetime | str | None) -> str:
    """A time as people in the city read it, to the minute (2026-01-06 16:04): every page,
    notification and message shows times this way, never UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return city_time(moment).strftime("%Y-%m-%d %H:%M")


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
