"""The red/yellow/green light of a problem (红黄绿灯), the one place of the rule in this service.

The light is the unit's: it shines while it is the unit's turn in rectification's terms (waiting for
the unit to commit a deadline, or rectifying), and is gone once the unit has submitted, after the
write-off, or when the problem is withdrawn. With a deadline in force it is red once the deadline
has passed, yellow from `yellow_days` before it (the round's policy), green before that; without a
deadline it follows the date by which the unit must commit one: red once that has passed, else
green. Rectification's ledger shows the same light (`warnings.light` there, from the same events).

Because the light depends on today, the statistics keep, per open problem, two dates — when it turns
red (`due_on`: after that day) and when it turns yellow (`yellow_from`) — and count them for any
today with two comparisons (`read/queries.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ducha.kernel.calendar import add_working_days

GREEN, YELLOW, RED = "green", "yellow", "red"
AWAITING, RECTIFYING = "awaiting_commitment", "rectifying"
OPEN = (AWAITING, RECTIFYING)
NEVER = date(9999, 12, 31)  # no date: never red / never yellow


@dataclass(frozen=True, slots=True)
class Due:
    """When an open problem's light turns red (the day after `due_on`) and yellow (on `yellow_from`)."""

    due_on: date
    yellow_from: date


def due(status: str | None, deadline: date | None, yellow_from: date | None, commit_by: date | None) -> Due | None:
    """The dates of the light; None when there is no light (not the unit's turn)."""
    if status not in OPEN:
        return None
    if deadline is None:
        return Due(commit_by or NEVER, NEVER)
    return Due(deadline, yellow_from or NEVER)


def light(d: Due | None, today: date) -> str | None:
    if d is None:
        return None
    if d.due_on < today:
        return RED
    return YELLOW if d.yellow_from <= today else GREEN


def yellow_from(deadline: date, yellow_days: int) -> date:
    return deadline - timedelta(days=yellow_days)


def after_reopen(deadline: date | None, reopened_on: date, commit_days: int) -> tuple[str, date | None, date | None]:
    """(status, deadline in force, commit-by date) after a rejection or rebound reopened the problem:
    an expired deadline is no longer in force, and the unit has `commit_days` working days to
    commit a new one. Returns commit-by None when it stays as it was."""
    if deadline is not None and deadline < reopened_on:
        return AWAITING, None, add_working_days(reopened_on, commit_days)
    return RECTIFYING, deadline, None
