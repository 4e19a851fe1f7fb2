"""The verification side of one problem (aggregate `verification/problem/<problem id>`): its
reviews, write-offs and revisits, rebuilt from its own events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ducha.contracts.verification import (
    ProblemWrittenOff,
    RectificationRejected,
    RectificationVerified,
    ReviewProposalReturned,
    ReviewProposed,
    RevisitOutcome,
    RevisitRecorded,
)
from ducha.kernel.eventstore import LoadedAggregate

from ..config import local_date


@dataclass(frozen=True, slots=True)
class Proposal:
    submission_no: int
    event: ReviewProposed
    proposed_by: str


@dataclass(slots=True)
class ProblemState:
    decided: dict[int, str] = field(default_factory=dict)  # submission_no -> "accepted"/"rejected"
    proposal: Proposal | None = None
    accepted_submission: int | None = None  # the latest acceptance...
    written_off_submission: int | None = None  # ...and whether it has been written off
    ledger_no: int | None = None  # of the latest write-off
    written_off_on: date | None = None
    revisit_pending: bool = False  # a write-off waits for its revisit
    write_offs: int = 0
    rebounds: int = 0

    @property
    def awaiting_write_off(self) -> bool:
        return self.accepted_submission is not None and self.written_off_submission != self.accepted_submission

    @classmethod
    def of(cls, loaded: LoadedAggregate) -> ProblemState:
        state = cls()
        for env in loaded.events:
            p = env.payload
            if isinstance(p, ReviewProposed):
                state.proposal = Proposal(p.submission_no, p, env.actor.id)
            elif isinstance(p, ReviewProposalReturned):
                state.proposal = None
            elif isinstance(p, RectificationVerified):
                state.decided[p.submission_no] = "accepted"
                state.proposal = None
                state.accepted_submission = p.submission_no
            elif isinstance(p, RectificationRejected):
                state.decided[p.submission_no] = "rejected"
                state.proposal = None
            elif isinstance(p, ProblemWrittenOff):
                state.written_off_submission = p.submission_no or state.accepted_submission
                state.ledger_no = p.ledger_no
                state.written_off_on = local_date(env.occurred_at)
                state.revisit_pending = True
                state.write_offs += 1
            elif isinstance(p, RevisitRecorded):
                state.revisit_pending = False
                if p.outcome == RevisitOutcome.REBOUNDED:
                    state.rebounds += 1
                    # The write-off no longer stands: a new submission must be accepted and written off.
                    state.accepted_submission = None
        return state
