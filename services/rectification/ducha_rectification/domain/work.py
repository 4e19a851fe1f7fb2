"""The work between commitment and submission: progress, dispatch check-ins, reminders and help."""

from __future__ import annotations

from datetime import date

from ducha.contracts import Actor, DomainEvent
from ducha.contracts import rectification as ev
from ducha.contracts.common import EvidenceRef
from ducha.kernel.errors import Conflict, InvalidCommand, NotFound

from .facts import ProblemFacts
from .guards import ensure_live, ensure_open
from .state import ProblemState


def report_progress(
    facts: ProblemFacts, state: ProblemState, percent: int, text: str, evidence: tuple[EvidenceRef, ...]
) -> list[DomainEvent]:
    ensure_open(facts, state, "report progress")
    return [ev.ProgressReported(percent=percent, text=text, evidence=evidence)]


def record_dispatch(
    facts: ProblemFacts, state: ProblemState, today: date, kind: ev.DispatchKind, findings: str,
    visited_on: date, evidence: tuple[EvidenceRef, ...],
) -> list[DomainEvent]:
    ensure_live(facts, state)
    if visited_on > today:
        raise InvalidCommand("visited_on is in the future", field="visited_on")
    return [ev.DispatchRecorded(kind=kind, findings=findings, visited_on=visited_on, evidence=evidence)]


def issue_reminder(
    facts: ProblemFacts, state: ProblemState, reminder_id: str, kind: ev.ReminderKind, text: str
) -> list[DomainEvent]:
    ensure_live(facts, state)
    return [ev.ReminderIssued(reminder_id=reminder_id, kind=kind, text=text)]


def acknowledge_reminder(facts: ProblemFacts, state: ProblemState, reminder_id: str, note: str) -> list[DomainEvent]:
    ensure_live(facts, state)
    if reminder_id not in state.reminders:
        raise NotFound(f"no reminder {reminder_id} on problem {facts.problem_id}")
    if state.reminders[reminder_id]:
        raise Conflict(f"reminder {reminder_id} was already acknowledged")
    return [ev.ReminderAcknowledged(reminder_id=reminder_id, note=note)]


def request_help(facts: ProblemFacts, state: ProblemState, help_id: str, difficulty: str) -> list[DomainEvent]:
    ensure_open(facts, state, "ask for help")
    return [ev.HelpRequested(help_id=help_id, difficulty=difficulty)]


def assign_helper(
    facts: ProblemFacts, state: ProblemState, help_id: str, helper_id: str, helper_name: str, note: str
) -> list[DomainEvent]:
    ensure_open(facts, state, "assign a helper")
    help_ = state.helps.get(help_id)
    if help_ is None:
        raise NotFound(f"no help request {help_id} on problem {facts.problem_id}")
    if help_.helper_id is not None:
        raise Conflict(f"help request {help_id} already has helper {help_.helper_id}")
    if helper_id == facts.unit_id:
        raise InvalidCommand("the responsible unit cannot be its own helper", field="helper_id")
    return [ev.HelperAssigned(help_id=help_id, helper_id=helper_id, helper_name=helper_name, note=note)]


def report_help(
    facts: ProblemFacts, state: ProblemState, actor: Actor, help_id: str, text: str
) -> list[DomainEvent]:
    ensure_live(facts, state)
    help_ = state.helps.get(help_id)
    if help_ is None or help_.helper_id != actor.unit_id:
        raise NotFound(f"no help request {help_id} assigned to you on problem {facts.problem_id}")
    assert actor.unit_id is not None
    return [ev.HelpReported(help_id=help_id, helper_id=actor.unit_id, text=text)]
