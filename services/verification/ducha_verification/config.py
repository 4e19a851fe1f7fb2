"""Settings of the verification service beyond the kernel's (environment, read when used)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone

# The city's local time: dates (today, visited on, submitted on time) are local dates.
LOCAL_TZ = timezone(timedelta(hours=8), "CST")

DEFAULT_REVISIT_AFTER_DAYS = 30


def default_revisit_after_days() -> int:
    """Days from write-off to the revisit when the round does not say (DUCHA_VERIFICATION_REVISIT_AFTER_DAYS)."""
    raw = os.environ.get("DUCHA_VERIFICATION_REVISIT_AFTER_DAYS")
    try:
        value = int(raw) if raw else DEFAULT_REVISIT_AFTER_DAYS
    except ValueError:
        value = DEFAULT_REVISIT_AFTER_DAYS
    return max(1, min(value, 365))


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def as_utc(moment: datetime) -> datetime:
    """Stored times are UTC (SQLite keeps no offset); a naive time read back is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_text(moment: datetime | None) -> str:
    return as_utc(moment).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""
