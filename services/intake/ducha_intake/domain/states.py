"""Helpers shared by the aggregates' state classes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self, TypeVar

from ducha.contracts.base import DomainEvent, Envelope
from ducha.kernel.eventstore import LoadedAggregate

S = TypeVar("S", bound="State")


class State:
    """Rebuilt by applying an aggregate's events in order; `exists` once it has any."""

    id: str = ""
    last_sequence: int = 0
    version: int = 0

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id

    @property
    def exists(self) -> bool:
        return self.version > 0

    def when(self, event: DomainEvent, envelope: Envelope[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def rebuild(cls, aggregate_id: str, events: Iterable[Envelope[Any]]) -> Self:
        state = cls(aggregate_id)
        for env in events:
            state.when(env.payload, env)
            state.version += 1
            state.last_sequence = env.sequence
        return state

    @classmethod
    def of(cls, loaded: LoadedAggregate) -> Self:
        return cls.rebuild(loaded.key.aggregate_id, loaded.events)
