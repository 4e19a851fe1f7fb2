"""What one problem adds to the statistics' counters (pure).

The figures (`ducha.figures`: 整改率, 按期整改率, ...) are sums over problems, so the projection keeps
the sums per group — round, team, unit, and whether the unit has been told (fed back) — and moves a
problem's contribution from its old counts to its new ones when an event changes it. A read then
adds a few hundred rows instead of folding every problem. Excluded problems (withdrawn, duplicate)
and problems not yet reported count nowhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import lights

UNITS_TURN = ("fed_back", "rectifying")
STANDING = ("written_off", "held")
# the counts of ducha.figures.COUNTS, and the sum and number of microseconds from feedback to the
# write-off that stands (the average days to write-off)
COUNTS = ("reported", "fed_back", "rectifying", "overdue", "ever_overdue", "submitted", "submissions",
          "submissions_on_time", "awaiting_review", "accepted", "rejected", "rejections", "written_off",
          "held", "ever_written_off", "rebounded", "rebounds")
COLUMNS = (*COUNTS, "days_us", "days_n")
GROUP = ("round_id", "team_id", "unit_id", "disclosed")
LIGHT_GROUP = (*GROUP, "due_on", "yellow_from")

Key = tuple[Any, ...]
_US = timedelta(microseconds=1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def counted(p: Mapping[str, Any]) -> bool:
    return p["round_id"] is not None and not p["excluded"]


def group(p: Mapping[str, Any]) -> Key:
    return (p["round_id"], p["team_id"] or "", p["unit_id"], p["fed_back_at"] is not None)


def contribution(p: Mapping[str, Any]) -> tuple[Key, tuple[int, ...]] | None:
    """(group, one value per COLUMNS) of a problem row, or None when it counts nowhere."""
    if not counted(p):
        return None
    stage = p["stage"]
    standing = stage in STANDING
    turn = stage in UNITS_TURN
    fed_back_at, written_off_at = p["fed_back_at"], p["written_off_at"]
    spell = standing and fed_back_at is not None and written_off_at is not None
    days_us = (_utc(written_off_at) - _utc(fed_back_at)) // _US if spell else 0
    values = (
        1, int(fed_back_at is not None), int(turn), int(bool(p["overdue"]) and turn), int(bool(p["ever_overdue"])),
        int(p["submissions"] > 0), p["submissions"], p["submissions_on_time"], int(stage == "submitted"),
        int(p["accepted_count"] > 0), int(p["rejection_count"] > 0), p["rejection_count"], int(standing),
        int(stage == "held"), int(p["write_off_count"] > 0), int(p["rebound_count"] > 0), p["rebound_count"],
        days_us, int(spell),
    )
    return group(p), values


def light_key(p: Mapping[str, Any]) -> Key | None:
    """The light group of a problem row (its group and the dates of its light), or None."""
    if not counted(p):
        return None
    d = lights.due(p["light_status"], p["light_deadline"], p["light_yellow_from"], p["light_commit_by"])
    if d is None:
        return None
    return (*group(p), d.due_on, d.yellow_from)
