"""Deadline decisions: commitment, revision, the team's shorter deadline, extensions, reset after a
reopen. Every change is its own DeadlineSet with a reason, so postponements can be counted."""

from __future__ import annotations

from datetime import date, timedelta

from ducha.contracts import DomainEvent
from ducha.contracts import rectification as ev
from ducha.kernel.errors import Conflict, InvalidCommand, NotFound

from .facts import ProblemFacts
from .guards import check_deadline_date, ensure_live, ensure_open
from .state import Phase, ProblemState


def reopen_maximum(facts: ProblemFacts, state: ProblemState) -> date:
    """After a rejection or rebound the unit gets a fresh window from the day it was reopened."""
    assert state.reopened_on is not None
    return state.reopened_on + timedelta(days=facts.reopen_max_days)


def set_deadline(
    facts: ProblemFacts, state: ProblemState, today: date, deadline: date, plan: str, reason: str
) -> list[DomainEvent]:
    """The unit commits (承诺整改时限), revises, or sets a new deadline after a reopen."""
    ensure_open(facts, state, "set a deadline")
    plan, reason = plan.strip(), reason.strip()
    maximum: date | None
    if state.reopened_on is not None and not state.deadline_since_reopen:
        change = ev.DeadlineChange.RESET_AFTER_REOPEN
        maximum = reopen_maximum(facts, state)
    elif state.deadline is None:
        change = ev.DeadlineChange.COMMITTED
        maximum = facts.max_deadline
        if not plan:
            raise InvalidCommand("committing a deadline needs the rectification plan (整改方案)", field="plan")
    else:
        change = ev.DeadlineChange.REVISED
        # The unit may move its own date within the same limit it committed under.
        maximum = reopen_maximum(facts, state) if state.reopened_on else facts.max_deadline
        if not reason:
            raise InvalidCommand("changing a committed deadline needs a reason", field="reason")
    if state.deadline == deadline and change == ev.DeadlineChange.REVISED:
        raise Conflict(f"the deadline already is {deadline.isoformat()}")
    check_deadline_date(deadline, today, maximum)
    return [ev.DeadlineSet(deadline=deadline, change=change, plan=plan, reason=reason,
                           previous_deadline=state.deadline)]


def require_shorter(
    facts: ProblemFacts, state: ProblemState, today: date, deadline: date, reason: str
) -> list[DomainEvent]:
    """The team requires a shorter deadline for a severe problem."""
    ensure_open(facts, state, "change the deadline")
    if not facts.severe:
        raise Conflict("a shorter deadline can be required only for a severe (严重) problem")
    if state.deadline is None:
        raise Conflict("the unit has not committed a deadline yet; remind it instead")
    if deadline >= state.deadline:
        raise InvalidCommand(
            f"the required deadline must be earlier than the current one ({state.deadline.isoformat()})",
            field="deadline",
        )
    check_deadline_date(deadline, today, None)
    if not reason.strip():
        raise InvalidCommand("say why the deadline must be shorter", field="reason")
    return [ev.DeadlineSet(deadline=deadline, change=ev.DeadlineChange.REQUIRED_BY_TEAM,
                           reason=reason.strip(), previous_deadline=state.deadline)]


def request_extension(
    facts: ProblemFacts, state: ProblemState, today: date, request_id: str, requested: date, reason: str
) -> list[DomainEvent]:
    ensure_open(facts, state, "request an extension")
    if state.deadline is None:
        raise Conflict("commit a deadline first; an extension extends a committed deadline")
    if state.pending_extension is not None:
        raise Conflict(f"extension request {state.pending_extension.request_id} is still pending")
    if requested <= state.deadline:
        raise InvalidCommand(
            f"the requested deadline must be later than the current one ({state.deadline.isoformat()})",
            field="requested_deadline",
        )
    # Beyond the round's maximum is exactly what an extension is for; the team decides.
    check_deadline_date(requested, today, None, "requested_deadline")
    return [ev.ExtensionRequested(request_id=request_id, requested_deadline=requested, reason=reason)]


def _pending(state: ProblemState, request_id: str) -> ev.DeadlineChange:
    ext = state.extensions.get(request_id)
    if ext is None:
        raise NotFound(f"no extension request {request_id}")
    if ext.status != "pending":
        raise Conflict(f"extension request {request_id} was already {ext.status}")
    return ev.DeadlineChange.EXTENSION_GRANTED


def grant_extension(
    facts: ProblemFacts, state: ProblemState, today: date, request_id: str, new_deadline: date | None, note: str
) -> list[DomainEvent]:
    ensure_open(facts, state, "grant an extension")
    change = _pending(state, request_id)
    deadline = new_deadline or state.extensions[request_id].requested_deadline
    check_deadline_date(deadline, today, None, "new_deadline")
    if state.deadline is not None and deadline <= state.deadline:
        raise InvalidCommand("a granted extension must be later than the current deadline", field="new_deadline")
    return [
        ev.ExtensionGranted(request_id=request_id, new_deadline=deadline, note=note),
        ev.DeadlineSet(deadline=deadline, change=change, reason=note or "延期申请已批准",
                       previous_deadline=state.deadline),
    ]


def refuse_extension(facts: ProblemFacts, state: ProblemState, request_id: str, reason: str) -> list[DomainEvent]:
    ensure_live(facts, state)
    _pending(state, request_id)
    return [ev.ExtensionRefused(request_id=request_id, reason=reason)]


__all__ = ["Phase", "grant_extension", "refuse_extension", "request_extension", "require_shorter",
           "set_deadline"]
