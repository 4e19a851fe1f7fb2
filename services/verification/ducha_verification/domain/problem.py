"""The verification side of one problem (aggregate `verification/problem/<problem id>`): its
reviews, write-offs and revisits, rebuilt from its own events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ducha.contracts import Envelope
from ducha.contracts.verification import (
    ProblemWrittenOff,
    RectificationRejected,
    RectificationVerified,
    ReviewProposalReturned,
    ReviewProposed,
    RevisitOutcome,
    RevisitRecorded,
)
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.calendar import local_date


@dataclass(frozen=True, slots=True)
class Proposal:
    submission_no: int
    event: ReviewProposed
    proposed_by: str


class ProblemState(AggregateState):
    """What the decisions look at, folded from the problem's verification events."""

    def __init__(self) -> None:
        self.decided: dict[int, str] = {}  # submission_no -> "accepted"/"rejected"
        self.proposal: Proposal | None = None
        self.accepted_submission: int | None = None  # the latest acceptance...
        self.written_off_submission: int | None = None  # ...and whether it has been written off
        self.ledger_no: int | None = None  # of the latest write-off
        self.written_off_on: date | None = None
        self.revisit_pending = False  # a write-off waits for its revisit
        self.write_offs = 0
        self.rebounds = 0

    @property
    def awaiting_write_off(self) -> bool:
        return self.accepted_submission is not None and self.written_off_submission != self.accepted_submission

    @applies(ReviewProposed)
    def _proposed(self, p: ReviewProposed, env: Envelope[Any]) -> None:
        self.proposal = Proposal(p.submission_no, p, env.actor.id)

    @applies(ReviewProposalReturned)
    def _returned(self, p: ReviewProposalReturned) -> None:
        self.proposal = None

    @applies(RectificationVerified)
    def _verified(self, p: RectificationVerified) -> None:
        self.decided[p.submission_no] = "accepted"
        self.proposal = None
        self.accepted_submission = p.submission_no

    @applies(RectificationRejected)
    def _rejected(self, p: RectificationRejected) -> None:
        self.decided[p.submission_no] = "rejected"
        self.proposal = None

    @applies(ProblemWrittenOff)
    def _written_off(self, p: ProblemWrittenOff, env: Envelope[Any]) -> None:
        self.written_off_submission = p.submission_no or self.accepted_submission
        self.ledger_no = p.ledger_no
        self.written_off_on = local_date(env.occurred_at)
        self.revisit_pending = True
        self.write_offs += 1

    @applies(RevisitRecorded)
    def _revisited(self, p: RevisitRecorded) -> None:
        self.revisit_pending = False
        if p.outcome == RevisitOutcome.REBOUNDED:
            self.rebounds += 1
            # The write-off no longer stands: a new submission must be accepted and written off.
            self.accepted_submission = None
