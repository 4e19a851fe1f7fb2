"""The light (红黄绿灯) of a problem's deadline: pure rules (the ledger's SQL computes the same,
`read.queries.light_expr`; a test checks they agree)."""

from __future__ import annotations

from datetime import date

GREEN, YELLOW, RED = "green", "yellow", "red"
OPEN_STATUSES = ("awaiting_commitment", "rectifying")


def light(status: str, deadline: date | None, yellow_days: int, commit_deadline_by: date | None,
          today: date) -> str | None:
    """None when nothing is due (submitted, accepted, written off, withdrawn). Without a committed
    deadline the light follows the commitment date: red once it passed, green before."""
    if status not in OPEN_STATUSES:
        return None
    if deadline is None:
        return RED if commit_deadline_by is not None and today > commit_deadline_by else GREEN
    left = (deadline - today).days
    if left < 0:
        return RED
    return YELLOW if left <= yellow_days else GREEN


def days_left(deadline: date | None, today: date) -> int | None:
    """Days until the deadline (0 = due today); negative = days overdue."""
    return None if deadline is None else (deadline - today).days
