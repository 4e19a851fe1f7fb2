"""Investigation and re-check (调查复核) of important, high-profile matters: the office records a
re-check (subject, round, means) and classifies each item it looked at — not done (the reason
found), in progress (how far), done (result and effect confirmed). One RecheckRecorded per item;
a re-check may get more items later; an item (problem) is classified once per re-check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ducha.contracts import Actor, DomainEvent
from ducha.contracts.verification import RecheckRecorded, RecheckStatus
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.errors import Conflict, InvalidCommand

from .spotcheck import require_office


@dataclass(frozen=True, slots=True)
class RecheckItem:
    problem_id: str
    status: RecheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class RecheckHeader:
    round_id: str
    subject: str
    means: tuple[str, ...] = ()


class RecheckState(AggregateState):
    def __init__(self) -> None:
        self.header: RecheckHeader | None = None
        self.seen: set[str] = set()

    @applies(RecheckRecorded)
    def _item(self, p: RecheckRecorded) -> None:
        self.header = self.header or RecheckHeader(p.round_id, p.subject, p.means)
        self.seen.add(p.problem_id)


def decide_recheck(
    loaded: LoadedAggregate, actor: Actor, header: RecheckHeader | None, items: Sequence[RecheckItem],
    problem_rounds: dict[str, str | None],
) -> Sequence[DomainEvent]:
    """`header` None: add items to an existing re-check. `problem_rounds`: each item's round."""
    require_office(actor, "record a re-check")
    state = RecheckState.of(loaded)
    existing, seen = state.header, set(state.seen)
    if header is None:
        if existing is None:
            raise Conflict("no such re-check")
        header = existing
    elif existing is not None:
        raise Conflict("this re-check is recorded already; add items to it instead")
    if not items:
        raise InvalidCommand("a re-check needs at least one item", field="items")
    out: list[DomainEvent] = []
    for i, item in enumerate(items):
        if item.problem_id in seen:
            raise Conflict(f"problem {item.problem_id} is already classified in this re-check")
        seen.add(item.problem_id)
        if problem_rounds.get(item.problem_id) not in (None, header.round_id):
            raise InvalidCommand(f"problem {item.problem_id} is not of round {header.round_id}",
                                 field=f"items.{i}.problem_id")
        if not item.detail.strip():
            raise InvalidCommand("say the reason, how far, or the confirmed result", field=f"items.{i}.detail")
        out.append(RecheckRecorded(round_id=header.round_id, subject=header.subject, problem_id=item.problem_id,
                                   status=item.status, detail=item.detail, means=header.means))
    return out
