"""Write-off (入账销号): one command over two aggregates, appended atomically —
the round's ledger (`verification/ledger/<round id>`, gapless numbers) gets LedgerEntryRecorded and
the problem gets ProblemWrittenOff. The server checks both versions, so concurrent write-offs in a
round retry and each gets the next number: no gaps, no duplicates.

Rules: only the problem's team writes off; only an accepted submission is written off, and only
once; after a rebound, a new acceptance may be written off again under a new number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from ducha.contracts import Actor, DomainEvent
from ducha.contracts.verification import LedgerEntryRecorded, ProblemWrittenOff
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.errors import Conflict, NotFound
from ducha.kernel.subjects import AggregateKey

from .facts import ProblemFacts, require_problem_team
from .problem import ProblemState


class LedgerState(AggregateState):
    """A round's ledger: its lines so far."""

    def __init__(self) -> None:
        self.entries = 0
        self.written: set[tuple[str, int | None]] = set()  # (problem id, submission no) already on it

    @applies(LedgerEntryRecorded)
    def _line(self, p: LedgerEntryRecorded) -> None:
        self.entries += 1
        self.written.add((p.problem_id, p.submission_no))

    @property
    def next_no(self) -> int:
        return self.entries + 1


def ledger_key(round_id: str) -> AggregateKey:
    return AggregateKey("verification", "ledger", round_id, None)


def problem_key(facts: ProblemFacts) -> AggregateKey:
    return AggregateKey("verification", "problem", facts.problem_id, facts.unit_id)


def decide_write_off(
    loaded: dict[AggregateKey, LoadedAggregate],
    actor: Actor,
    facts: ProblemFacts,
    today: date,
    revisit_after_days: int,
) -> dict[AggregateKey, Sequence[DomainEvent]]:
    require_problem_team(actor, facts, "write it off")
    if facts.round_id is None:
        raise NotFound(f"problem {facts.problem_id} has no round known to verification")
    if facts.excluded:
        raise Conflict(f"problem {facts.problem_id} was withdrawn or marked duplicate")
    lkey, pkey = ledger_key(facts.round_id), problem_key(facts)
    state = ProblemState.of(loaded[pkey])
    if state.accepted_submission is None:
        since = " since its rebound" if state.rebounds else ""
        raise Conflict(f"problem {facts.problem_id} has no accepted rectification{since}: accept it before writing off")
    if not state.awaiting_write_off:
        raise Conflict(f"problem {facts.problem_id} is already written off (ledger no. {state.ledger_no})")
    ledger = LedgerState.of(loaded[lkey])
    if (facts.problem_id, state.accepted_submission) in ledger.written:
        raise Conflict(f"submission {state.accepted_submission} of {facts.problem_id} is already on the ledger")
    no = ledger.next_no
    return {
        lkey: [LedgerEntryRecorded(ledger_no=no, problem_id=facts.problem_id, unit_id=facts.unit_id,
                                   submission_no=state.accepted_submission)],
        pkey: [ProblemWrittenOff(round_id=facts.round_id, ledger_no=no, submission_no=state.accepted_submission,
                                 revisit_due_on=today + timedelta(days=revisit_after_days))],
    }
