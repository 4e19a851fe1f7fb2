"""Accountability (问责) and tolerance (容错纠错) decisions: recorded only by cadre supervision
(干部监督管理部门), on a problem (and so its unit) or on a unit, always with basis and decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ducha.contracts import Actor, DomainEvent, Role
from ducha.contracts.verification import AccountabilityDecided, DecisionKind
from ducha.kernel.aggregate import LoadedAggregate
from ducha.kernel.errors import Conflict, Forbidden, InvalidCommand

from .facts import ProblemFacts


@dataclass(frozen=True, slots=True)
class DecisionInput:
    kind: DecisionKind
    unit_id: str | None
    problem_id: str | None
    person_name: str
    basis: str
    decision: str


def decide_accountability(
    loaded: LoadedAggregate, actor: Actor, inp: DecisionInput, problem: ProblemFacts | None, unit_known: bool
) -> Sequence[DomainEvent]:
    if actor.role != Role.CADRE:
        raise Forbidden("only cadre supervision (干部监督管理部门) records accountability or tolerance")
    if loaded.events:
        raise Conflict("this decision is recorded already")
    unit_id, round_id = inp.unit_id, None
    if problem is not None:
        if unit_id is not None and unit_id != problem.unit_id:
            raise InvalidCommand(f"problem {problem.problem_id} belongs to unit {problem.unit_id}", field="unit_id")
        unit_id, round_id = problem.unit_id, problem.round_id
    elif not unit_known:
        raise InvalidCommand("name a known problem or unit", field="unit_id")
    if unit_id is None:
        raise InvalidCommand("name a problem or a unit", field="unit_id")
    for name in ("basis", "decision"):
        if not getattr(inp, name).strip():
            raise InvalidCommand(f"{name} is required", field=name)
    return [AccountabilityDecided(kind=inp.kind, problem_id=inp.problem_id, unit_id=unit_id,
                                  person_name=inp.person_name, basis=inp.basis, decision=inp.decision,
                                  round_id=round_id)]
