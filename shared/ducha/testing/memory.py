"""An event log in memory, behind the event store's protocol (`ducha.kernel.eventstore.EventLog`),
with the same semantics as JetStream's:

- one global sequence over every message;
- an append states the aggregate's expected last sequence (over the aggregate's wildcard subject)
  and is refused with `ConcurrencyConflict` when another append came first;
- message ids (`<command id>:<n>`) are remembered: a repeated single append answers `duplicate`,
  a repeated batch `DuplicateAppend` (the expected sequence is checked first, as the server does);
- the events of one command, and of a multi-aggregate command, are stored all or none.

For tests of commands and domain wiring without a nats-server; `shared/tests/test_store_contract.py`
runs one test case against this and against NATS.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from ducha.contracts.base import DomainEvent, Envelope, event_hash
from ducha.contracts.registry import EventRegistry, MalformedEvent
from ducha.kernel.aggregate import LoadedAggregate
from ducha.kernel.eventstore import (
    MAX_BATCH,
    AppendResult,
    ConcurrencyConflict,
    DuplicateAppend,
    EventStoreError,
    written_by_newer,
)
from ducha.kernel.subjects import ALL_EVENTS, EVENT_PREFIX, AggregateKey


def subject_matches(subject: str, pattern: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more trailing tokens."""
    tokens = subject.split(".")
    parts = pattern.split(".")
    for i, part in enumerate(parts):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(tokens) == len(parts)


class MemoryEventStore:
    """The event store's protocol over a list. Not for production: one process, nothing persisted."""

    def __init__(self, registry: EventRegistry) -> None:
        self._registry = registry
        self._log: list[tuple[str, bytes]] = []  # index + 1 = sequence
        self._msg_ids: dict[str, int] = {}  # message id -> sequence
        self._lock = asyncio.Lock()
        self.known_last_sequence = 0

    @property
    def registry(self) -> EventRegistry:
        return self._registry

    # ---------------------------------------------------------------- append
    def _last_of(self, subject_filter: str) -> int:
        for i in range(len(self._log) - 1, -1, -1):
            if subject_matches(self._log[i][0], subject_filter):
                return i + 1
        return 0

    def _check(self, key: AggregateKey, expected: int) -> None:
        actual = self._last_of(key.filter)
        if actual != expected:
            raise ConcurrencyConflict(key, expected, actual)

    def _store(self, messages: list[tuple[str, bytes, str]]) -> AppendResult:
        for subject, body, msg_id in messages:
            self._log.append((subject, body))
            self._msg_ids[msg_id] = len(self._log)
        last = len(self._log)
        self.known_last_sequence = last
        return AppendResult(last - len(messages) + 1, last)

    async def append(
        self, key: AggregateKey, events: Sequence[Envelope[DomainEvent]], expected_last_sequence: int
    ) -> AppendResult:
        if not events:
            raise ValueError("nothing to append")
        if len(events) > MAX_BATCH:
            raise ValueError(f"one command may append at most {MAX_BATCH} events")
        async with self._lock:
            self._check(key, expected_last_sequence)
            ids = [f"{e.command_id}:{i}" for i, e in enumerate(events, start=1)]
            if any(i in self._msg_ids for i in ids):
                if len(events) == 1:
                    seq = self._msg_ids[ids[0]]
                    return AppendResult(seq, seq, duplicate=True)
                raise DuplicateAppend(f"message ids of command {events[0].command_id} already stored")
            return self._store([(key.subject(e.event_type), e.to_wire_json(), i) for e, i in zip(events, ids, strict=True)])

    async def append_multi(
        self, parts: Sequence[tuple[AggregateKey, Sequence[Envelope[DomainEvent]], int]]
    ) -> AppendResult:
        messages = [
            (key.subject(e.event_type), e.to_wire_json(), f"{e.command_id}:{key.aggregate_type}:{key.aggregate_id}:{i}")
            for key, events, _expected in parts for i, e in enumerate(events, start=1)
        ]
        if not messages or len(messages) > MAX_BATCH:
            raise ValueError(f"a command appends 1..{MAX_BATCH} events")
        async with self._lock:
            for key, _events, expected in parts:
                self._check(key, expected)
            if any(m[2] in self._msg_ids for m in messages):
                raise DuplicateAppend("message ids already stored")
            return self._store(messages)

    # ------------------------------------------------------------------ read
    def _decode(self, sequence: int) -> tuple[Envelope[DomainEvent], bytes] | None:
        subject, data = self._log[sequence - 1]
        try:
            return self._registry.decode(data, sequence, subject.rpartition(".")[2]), data
        except MalformedEvent as exc:
            if exc.too_new or written_by_newer(self._registry, data):
                raise EventStoreError(f"sequence {sequence}: too new for this service: {exc.reason}") from exc
            return None

    async def load(self, key: AggregateKey) -> LoadedAggregate:
        events: list[Envelope[DomainEvent]] = []
        last, last_hash = 0, None
        async for env, data in self.read_subject_raw(key.filter):
            events.append(env)
            last, last_hash = env.sequence, event_hash(data)
        return LoadedAggregate(key, tuple(events), last, last_hash)

    async def read_subject_raw(
        self, subject_filter: str, after: int = 0
    ) -> AsyncIterator[tuple[Envelope[DomainEvent], bytes]]:
        for seq in range(after + 1, len(self._log) + 1):
            if subject_matches(self._log[seq - 1][0], subject_filter):
                decoded = self._decode(seq)
                if decoded is not None:
                    yield decoded

    async def read_subject(self, subject_filter: str, after: int = 0) -> AsyncIterator[Envelope[DomainEvent]]:
        async for env, _data in self.read_subject_raw(subject_filter, after):
            yield env

    async def find_unit(self, context: str, aggregate_type: str, aggregate_id: str) -> str | None:
        pattern = f"{EVENT_PREFIX}.{context}.*.{aggregate_type}.{aggregate_id}.*"
        for subject, _data in self._log:
            if subject_matches(subject, pattern):
                return subject.split(".")[3]
        return None

    async def next_sequence_matching(self, subject_filter: str, after: int) -> int | None:
        for seq in range(after + 1, len(self._log) + 1):
            if subject_matches(self._log[seq - 1][0], subject_filter):
                return seq
        return None

    async def last_sequence(self) -> int:
        self.known_last_sequence = len(self._log)
        return len(self._log)

    async def get_raw(self, sequence: int) -> tuple[str, bytes]:
        if not 1 <= sequence <= len(self._log):
            raise EventStoreError(f"no message at sequence {sequence}")
        return self._log[sequence - 1]

    async def read_all(
        self, after: int = 0, filters: Sequence[str] = (ALL_EVENTS,), until: int | None = None
    ) -> AsyncIterator[tuple[int, str, bytes]]:
        end = min(until if until is not None else len(self._log), len(self._log))
        for seq in range(after + 1, end + 1):
            subject, data = self._log[seq - 1]
            if any(subject_matches(subject, f) for f in filters):
                yield seq, subject, data

    def decode(self, data: bytes, sequence: int, event_type: str | None = None) -> Envelope[DomainEvent]:
        return self._registry.decode(data, sequence, event_type)


__all__ = ["MemoryEventStore", "subject_matches"]
