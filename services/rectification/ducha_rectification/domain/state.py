"""The rectification state of one problem, folded from its own aggregate's events (never from the
projection: decisions must see every event the server has accepted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import rectification as ev
from ducha.kernel.eventstore import LoadedAggregate

from ..timeutil import local_date


class Phase(StrEnum):
    AWAITING_COMMITMENT = "awaiting_commitment"  # fed back, no deadline committed yet
    RECTIFYING = "rectifying"  # a deadline is committed (or the problem was reopened)
    SUBMITTED = "submitted"  # handed to verification; accepted / written off are verification's facts


@dataclass
class Extension:
    request_id: str
    requested_deadline: date
    status: str = "pending"  # pending | granted | refused


@dataclass
class Help:
    help_id: str
    helper_id: str | None = None
    reports: int = 0


@dataclass
class ProblemState:
    phase: Phase = Phase.AWAITING_COMMITMENT
    deadline: date | None = None
    submission_no: int = 0
    progress: int = 0
    extensions: dict[str, Extension] = field(default_factory=dict)
    reminders: dict[str, bool] = field(default_factory=dict)  # reminder id -> acknowledged
    helps: dict[str, Help] = field(default_factory=dict)
    reopened_on: date | None = None  # date of the last reopen (basis of the new maximum)
    last_reopen_seq: int = 0
    reopen_reasons: tuple[str, ...] = ()
    deadline_since_reopen: bool = False
    warned_yellow: set[date] = field(default_factory=set)
    warned_red: set[date] = field(default_factory=set)
    commitment_missed: set[date] = field(default_factory=set)  # commitment dates reported missed

    @property
    def pending_extension(self) -> Extension | None:
        return next((x for x in self.extensions.values() if x.status == "pending"), None)

    def apply(self, env: Envelope[DomainEvent]) -> None:
        p = env.payload
        if isinstance(p, ev.DeadlineSet):
            self.deadline = p.deadline
            if self.phase == Phase.AWAITING_COMMITMENT:
                self.phase = Phase.RECTIFYING
            if p.change == ev.DeadlineChange.RESET_AFTER_REOPEN:
                self.deadline_since_reopen = True
        elif isinstance(p, ev.ExtensionRequested):
            self.extensions[p.request_id] = Extension(p.request_id, p.requested_deadline)
        elif isinstance(p, ev.ExtensionGranted):
            self.extensions[p.request_id].status = "granted"
        elif isinstance(p, ev.ExtensionRefused):
            self.extensions[p.request_id].status = "refused"
        elif isinstance(p, ev.ProgressReported):
            self.progress = p.percent
        elif isinstance(p, ev.ReminderIssued):
            self.reminders[p.reminder_id] = False
        elif isinstance(p, ev.ReminderAcknowledged):
            self.reminders[p.reminder_id] = True
        elif isinstance(p, ev.HelpRequested):
            self.helps[p.help_id] = Help(p.help_id)
        elif isinstance(p, ev.HelperAssigned):
            self.helps[p.help_id].helper_id = p.helper_id
        elif isinstance(p, ev.HelpReported):
            self.helps[p.help_id].reports += 1
        elif isinstance(p, ev.RectificationSubmitted):
            self.phase = Phase.SUBMITTED
            self.submission_no = p.submission_no
        elif isinstance(p, ev.RectificationReopened):
            self.reopened_on = local_date(env.occurred_at)
            if self.deadline is not None and self.deadline < self.reopened_on:
                # The old deadline belonged to the finished cycle (e.g. a rebound months after the
                # write-off): it must not turn red now; the unit commits a new one (reset_after_reopen).
                self.deadline = None
                self.phase = Phase.AWAITING_COMMITMENT
            else:
                self.phase = Phase.RECTIFYING
            self.last_reopen_seq = env.sequence
            self.reopen_reasons = tuple(p.reasons)
            self.deadline_since_reopen = False
        elif isinstance(p, ev.DeadlineApproaching):
            self.warned_yellow.add(p.deadline)
        elif isinstance(p, ev.DeadlineMissed):
            self.warned_red.add(p.deadline)
        elif isinstance(p, ev.DeadlineCommitmentMissed):
            self.commitment_missed.add(p.commit_deadline_by)
        # DispatchRecorded changes nothing a later decision depends on.


def fold(loaded: LoadedAggregate) -> ProblemState:
    state = ProblemState()
    for env in loaded.events:
        state.apply(env)
    return state
