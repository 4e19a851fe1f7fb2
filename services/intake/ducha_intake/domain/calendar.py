"""Dates as the city sees them: the shared calendar (ducha.kernel.calendar) plus plain day sums."""

from __future__ import annotations

from datetime import date, timedelta

from ducha.kernel.calendar import CITY_TZ as LOCAL_TZ
from ducha.kernel.calendar import add_working_days, local_date

__all__ = ["LOCAL_TZ", "add_days", "add_working_days", "local_date"]


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)
