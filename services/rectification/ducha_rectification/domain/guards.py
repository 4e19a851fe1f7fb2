"""Preconditions shared by several decisions."""

from __future__ import annotations

from datetime import date

from ducha.kernel.errors import Conflict, InvalidCommand

from .facts import ProblemFacts
from .state import Phase, ProblemState


def written_off(facts: ProblemFacts, state: ProblemState) -> bool:
    # Written off unless the problem was reopened (rebound) after the write-off.
    return facts.written_off_seq is not None and facts.written_off_seq > state.last_reopen_seq


def accepted(facts: ProblemFacts, state: ProblemState) -> bool:
    return facts.accepted_seq is not None and facts.accepted_seq > state.last_reopen_seq


def ensure_live(facts: ProblemFacts, state: ProblemState) -> None:
    """The problem is fed back, still stands in intake, and is not closed by verification."""
    if facts.intake_status == "withdrawn":
        raise Conflict(f"problem {facts.problem_id} was withdrawn by its team")
    if facts.intake_status == "duplicate":
        raise Conflict(f"problem {facts.problem_id} was marked a duplicate; rectify the original")
    if not facts.fed_back:
        raise Conflict(f"problem {facts.problem_id} has not been fed back (交办) to the unit yet")
    if written_off(facts, state):
        raise Conflict(f"problem {facts.problem_id} is written off (已销号); it cannot be changed")
    if accepted(facts, state):
        raise Conflict(f"problem {facts.problem_id} was accepted (已验收); it cannot be changed")


def ensure_open(facts: ProblemFacts, state: ProblemState, doing: str) -> None:
    """Live and not waiting for review: the unit is (or should be) rectifying."""
    ensure_live(facts, state)
    if state.phase == Phase.SUBMITTED:
        raise Conflict(
            f"cannot {doing}: submission {state.submission_no} is awaiting review (待审核)"
        )


def check_deadline_date(deadline: date, today: date, maximum: date | None, field: str = "deadline") -> None:
    if deadline < today:
        raise InvalidCommand(f"{field} {deadline.isoformat()} is in the past (today is {today.isoformat()})",
                             field=field)
    if maximum is not None and deadline > maximum:
        raise InvalidCommand(
            f"{field} {deadline.isoformat()} is beyond the latest allowed deadline {maximum.isoformat()}",
            field=field,
        )
