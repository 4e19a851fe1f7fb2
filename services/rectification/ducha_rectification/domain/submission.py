"""Submission to verification, the return path (reopen), and the system's deadline warnings."""

from __future__ import annotations

from datetime import date

from ducha.contracts import DomainEvent
from ducha.contracts import rectification as ev
from ducha.contracts.common import EvidenceRef
from ducha.kernel.calendar import add_working_days
from ducha.kernel.errors import Conflict, InvalidCommand

from .facts import ProblemFacts
from .guards import accepted, ensure_open, written_off
from .state import Phase, ProblemState


def submit(
    facts: ProblemFacts, state: ProblemState, description: str, evidence: tuple[EvidenceRef, ...]
) -> list[DomainEvent]:
    ensure_open(facts, state, "submit again")
    if not evidence:
        raise InvalidCommand("a submission needs evidence (整改佐证材料)", field="evidence")
    if state.deadline is None:
        raise Conflict("commit a rectification deadline before submitting")
    return [ev.RectificationSubmitted(submission_no=state.submission_no + 1, description=description,
                                      evidence=evidence)]


def reopen(state: ProblemState, cause: ev.ReopenCause, reasons: tuple[str, ...], source_event_id: str
           ) -> list[DomainEvent]:
    """Verification rejected the submission or found the problem rebounded: rectify again."""
    if state.phase != Phase.SUBMITTED:
        raise Conflict(f"cannot reopen: the problem is {state.phase.value}, not submitted")
    return [ev.RectificationReopened(cause=cause, reasons=reasons or ("(未说明原因)",),
                                     source_event_id=source_event_id)]


def _warnable(facts: ProblemFacts, state: ProblemState, deadline: date) -> bool:
    return (
        facts.intake_status == "reported"
        and state.phase == Phase.RECTIFYING
        and state.deadline == deadline
        and not written_off(facts, state)
        and not accepted(facts, state)
    )


def deadline_warning(facts: ProblemFacts, state: ProblemState, today: date, deadline: date) -> list[DomainEvent]:
    """Yellow or red for this deadline, at most once each; nothing if the moment has not come, the
    deadline has changed meanwhile, or the problem was submitted. Red supersedes yellow: a service
    that was down through the yellow days only reports the miss."""
    if not _warnable(facts, state, deadline):
        return []
    days_left = (deadline - today).days
    if days_left < 0:
        return [] if deadline in state.warned_red else [ev.DeadlineMissed(deadline=deadline)]
    if days_left <= facts.yellow_days and deadline not in state.warned_yellow:
        return [ev.DeadlineApproaching(deadline=deadline, days_left=days_left)]
    return []


def commitment_due(facts: ProblemFacts, state: ProblemState) -> date | None:
    """When a deadline must be committed by: intake's date after feedback, or a fresh window of the
    round's commitment days after a reopen that left no deadline in force."""
    if state.reopened_on is not None:
        return add_working_days(state.reopened_on, facts.deadline_commit_days)
    return facts.commit_deadline_by


def commitment_missed(facts: ProblemFacts, state: ProblemState, today: date, due: date) -> list[DomainEvent]:
    if (
        facts.intake_status != "reported" or not facts.fed_back or state.phase != Phase.AWAITING_COMMITMENT
        or commitment_due(facts, state) != due or due in state.commitment_missed or today <= due
        or written_off(facts, state) or accepted(facts, state)
    ):
        return []
    return [ev.DeadlineCommitmentMissed(commit_deadline_by=due)]
