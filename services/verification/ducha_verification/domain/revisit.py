"""Revisit (回访) after write-off: the problem's team goes back on site and records whether the
fix held (不反弹) or rebounded (反弹). A rebound undoes the write-off: rectification reopens the
problem (it reacts to RevisitRecorded with outcome `rebounded`) and the rebound counts against the
unit in the statistics. Each write-off gets exactly one revisit; the due date is a schedule, not a
lock: a team may go earlier, never before the write-off nor in the future."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ducha.contracts import Actor, DomainEvent
from ducha.contracts.common import EvidenceRef
from ducha.contracts.verification import RevisitOutcome, RevisitRecorded
from ducha.kernel.aggregate import LoadedAggregate
from ducha.kernel.errors import Conflict, InvalidCommand

from .facts import ProblemFacts, require_problem_team
from .problem import ProblemState


@dataclass(frozen=True, slots=True)
class RevisitInput:
    outcome: RevisitOutcome
    findings: str
    visited_on: date
    evidence: tuple[EvidenceRef, ...] = ()


def decide_revisit(
    loaded: LoadedAggregate, actor: Actor, facts: ProblemFacts, inp: RevisitInput, today: date
) -> Sequence[DomainEvent]:
    require_problem_team(actor, facts, "revisit it")
    state = ProblemState.of(loaded)
    if not state.revisit_pending:
        if state.write_offs == 0:
            raise Conflict(f"problem {facts.problem_id} is not written off: nothing to revisit")
        raise Conflict(f"the revisit of write-off no. {state.ledger_no} is already recorded")
    if inp.visited_on > today:
        raise InvalidCommand("the visit cannot be in the future", field="visited_on")
    if state.written_off_on is not None and inp.visited_on < state.written_off_on:
        raise InvalidCommand(f"the visit cannot precede the write-off on {state.written_off_on}", field="visited_on")
    if not inp.findings.strip():
        raise InvalidCommand("record the on-site findings", field="findings")
    return [RevisitRecorded(outcome=inp.outcome, findings=inp.findings, visited_on=inp.visited_on,
                            ledger_no=state.ledger_no, evidence=inp.evidence)]
