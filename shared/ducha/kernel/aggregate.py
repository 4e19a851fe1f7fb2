"""Aggregate state: what a command decides on, folded from the aggregate's own events.

Pure: no NATS, no database. Domain code imports this module (and the contracts), nothing else of
the kernel's I/O.

    class TeamState(AggregateState):
        name: str = ""
        units: frozenset[str] = frozenset()

        @applies(TeamFormed)
        def _formed(self, event: TeamFormed) -> None:
            self.name = event.name

        @applies(TeamAssignedToUnits)
        def _assigned(self, event: TeamAssignedToUnits, env: Envelope[Any]) -> None:
            self.units |= set(event.unit_ids)   # the envelope too, when a handler needs it

    state = TeamState.of(loaded)            # a LoadedAggregate from the event store
    state = TeamState.fold(envelopes)       # or any events, e.g. in a unit test

An event type without an `@applies` method changes nothing (an aggregate's state needs only the
events its decisions look at). `version` counts every event, `last_sequence` is the log sequence
of the last one, `exists` is true once there is any.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from ..contracts.base import DomainEvent, Envelope
from .subjects import AggregateKey

F = TypeVar("F", bound=Callable[..., None])

_APPLIES_ATTR = "__ducha_applies__"


@dataclass(frozen=True, slots=True)
class LoadedAggregate:
    """The stored events of one aggregate, as the event store loaded them."""

    key: AggregateKey
    events: tuple[Envelope[DomainEvent], ...]
    last_sequence: int  # 0: the aggregate has no events yet
    last_hash: str | None = None  # hash of the last event's stored bytes: the next prev_hash

    @property
    def version(self) -> int:
        return len(self.events)

    def events_of_command(self, command_id: str) -> tuple[Envelope[DomainEvent], ...]:
        return tuple(e for e in self.events if e.command_id == command_id)


def applies(*event_types: type[DomainEvent]) -> Callable[[F], F]:
    """Mark a state method as applying events of these types: `(self, event)` or
    `(self, event, envelope)`."""
    if not event_types:
        raise TypeError("@applies needs at least one event type")

    def mark(fn: F) -> F:
        setattr(fn, _APPLIES_ATTR, tuple(getattr(fn, _APPLIES_ATTR, ())) + event_types)
        return fn

    return mark


def _takes_envelope(fn: Callable[..., Any]) -> bool:
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params) >= 3  # self, event, envelope


def collect_handlers(cls: type, attr: str = _APPLIES_ATTR) -> dict[type, Callable[..., Any]]:
    """Event type -> method, over the class's MRO (a subclass's method wins). Built once per class."""
    table: dict[type, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            fn = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            for event_type in getattr(fn, attr, ()):
                table[event_type] = fn
    return table


class AggregateState:
    """Base of an aggregate's state. Subclasses declare their fields with defaults (plain class
    attributes or a `@dataclass`) and `@applies` methods; `fold`/`of` build an instance."""

    id: str = ""
    version: int = 0
    last_sequence: int = 0

    _kernel_appliers: ClassVar[dict[type, tuple[Callable[..., None], bool]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._kernel_appliers = {t: (fn, _takes_envelope(fn)) for t, fn in collect_handlers(cls).items()}

    @property
    def exists(self) -> bool:
        return self.version > 0

    def apply(self, env: Envelope[DomainEvent]) -> None:
        """Apply one stored event (in log order)."""
        entry = self._kernel_appliers.get(type(env.payload))
        if entry is not None:
            fn, with_env = entry
            if with_env:
                fn(self, env.payload, env)
            else:
                fn(self, env.payload)
        self.version += 1
        self.last_sequence = env.sequence

    @classmethod
    def fold(cls, events: Iterable[Envelope[DomainEvent]], aggregate_id: str = "") -> Self:
        """A fresh state with the events applied in order."""
        state = cls()
        state.id = aggregate_id
        for env in events:
            if not state.id:
                state.id = env.aggregate_id
            state.apply(env)
        return state

    @classmethod
    def of(cls, loaded: LoadedAggregate) -> Self:
        """The state of a loaded aggregate."""
        return cls.fold(loaded.events, loaded.key.aggregate_id)


__all__ = ["AggregateState", "LoadedAggregate", "applies", "collect_handlers"]
