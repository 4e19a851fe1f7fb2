"""Rounds (轮次): opened and closed by the office; a look-back (回头看) names an earlier round."""

from __future__ import annotations

from ducha.contracts.base import DomainEvent
from ducha.contracts.intake import RoundClosed, RoundOpened
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, InvalidCommand, NotFound


class RoundState(AggregateState):
    opened: RoundOpened | None = None
    closed = False

    @applies(RoundOpened)
    def _opened(self, event: RoundOpened) -> None:
        self.opened = event

    @applies(RoundClosed)
    def _closed(self, event: RoundClosed) -> None:
        self.closed = True

    @property
    def is_open(self) -> bool:
        return self.exists and not self.closed

    def require(self) -> RoundOpened:
        if self.opened is None:
            raise NotFound(f"no round {self.id} (轮次不存在)")
        return self.opened

    def require_open(self) -> RoundOpened:
        opened = self.require()
        if self.closed:
            raise Conflict(f"round {self.id} is closed (轮次已结束)")
        return opened


def open_round(round_: RoundState, event: RoundOpened, earlier: RoundState | None) -> list[DomainEvent]:
    if round_.exists:
        raise Conflict(f"round {round_.id} exists already")
    if event.ends_on < event.starts_on:
        raise InvalidCommand("ends_on is before starts_on (结束日期早于开始日期)", field="ends_on")
    if event.look_back_of is not None:
        if earlier is None or not earlier.exists:
            raise InvalidCommand(f"round {event.look_back_of} does not exist (回头看的轮次不存在)",
                                 field="look_back_of")
        assert earlier.opened is not None
        if earlier.opened.starts_on > event.starts_on:
            raise InvalidCommand("a look-back must re-check an earlier round (回头看须针对此前轮次)",
                                 field="look_back_of")
    if len(set(event.focus_areas)) != len(event.focus_areas):
        raise InvalidCommand("focus_areas lists a focus area twice (重点领域重复)", field="focus_areas")
    return [event]


def close_round(round_: RoundState, note: str) -> list[DomainEvent]:
    round_.require_open()
    return [RoundClosed(note=note)]
