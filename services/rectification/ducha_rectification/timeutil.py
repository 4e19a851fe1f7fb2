"""Dates as the city sees them: deadlines are calendar days in Asia/Shanghai, whatever the server's
timezone. The rules live in the shared calendar (ducha.kernel.calendar), so intake's commitment
dates and this service's lights and windows agree."""

from __future__ import annotations

from datetime import date

from ducha.kernel.calendar import CITY_TZ, add_working_days, local_date

__all__ = ["CITY_TZ", "add_working_days", "local_date", "today"]


def today(clock: object) -> date:
    return local_date(clock.now())  # type: ignore[attr-defined]
