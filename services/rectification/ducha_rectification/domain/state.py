"""The rectification state of one problem, folded from its own aggregate's events (never from the
projection: decisions must see every event the server has accepted): `ProblemState.of(loaded)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import rectification as ev
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.calendar import local_date


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
class ProblemState(AggregateState):
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

    @applies(ev.DeadlineSet)
    def _deadline_set(self, p: ev.DeadlineSet) -> None:
        self.deadline = p.deadline
        if self.phase == Phase.AWAITING_COMMITMENT:
            self.phase = Phase.RECTIFYING
        if p.change == ev.DeadlineChange.RESET_AFTER_REOPEN:
            self.deadline_since_reopen = True

    @applies(ev.ExtensionRequested)
    def _ext_requested(self, p: ev.ExtensionRequested) -> None:
        self.extensions[p.request_id] = Extension(p.request_id, p.requested_deadline)

    @applies(ev.ExtensionGranted)
    def _ext_granted(self, p: ev.ExtensionGranted) -> None:
        self.extensions[p.request_id].status = "granted"

    @applies(ev.ExtensionRefused)
    def _ext_refused(self, p: ev.ExtensionRefused) -> None:
        self.extensions[p.request_id].status = "refused"

    @applies(ev.ProgressReported)
    def _progress(self, p: ev.ProgressReported) -> None:
        self.progress = p.percent

    @applies(ev.ReminderIssued)
    def _reminder(self, p: ev.ReminderIssued) -> None:
        self.reminders[p.reminder_id] = False

    @applies(ev.ReminderAcknowledged)
    def _reminder_ack(self, p: ev.ReminderAcknowledged) -> None:
        self.reminders[p.reminder_id] = True

    @applies(ev.HelpRequested)
    def _help(self, p: ev.HelpRequested) -> None:
        self.helps[p.help_id] = Help(p.help_id)

    @applies(ev.HelperAssigned)
    def _helper(self, p: ev.HelperAssigned) -> None:
        self.helps[p.help_id].helper_id = p.helper_id

    @applies(ev.HelpReported)
    def _help_report(self, p: ev.HelpReported) -> None:
        self.helps[p.help_id].reports += 1

    @applies(ev.RectificationSubmitted)
    def _submitted(self, p: ev.RectificationSubmitted) -> None:
        self.phase = Phase.SUBMITTED
        self.submission_no = p.submission_no

    @applies(ev.RectificationReopened)
    def _reopened(self, p: ev.RectificationReopened, env: Envelope[DomainEvent]) -> None:
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

    @applies(ev.DeadlineApproaching)
    def _yellow(self, p: ev.DeadlineApproaching) -> None:
        self.warned_yellow.add(p.deadline)

    @applies(ev.DeadlineMissed)
    def _red(self, p: ev.DeadlineMissed) -> None:
        self.warned_red.add(p.deadline)

    @applies(ev.DeadlineCommitmentMissed)
    def _commit_missed(self, p: ev.DeadlineCommitmentMissed) -> None:
        self.commitment_missed.add(p.commit_deadline_by)
    # DispatchRecorded changes nothing a later decision depends on.
