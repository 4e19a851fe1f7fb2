"""Projections: a service's own SQL tables, kept up to date from the event log.

Exactly once: a batch of events and the projection's new log position are written in one
transaction, and the position row is read under the write lock first, so a crash, a redelivery or
a second instance of the service can neither apply an event twice nor skip one.

A projection's `version` is part of its identity: when its schema changes, bump the version and the
runner drops its tables and replays the log instead of migrating them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..contracts.base import DomainEvent, Envelope
from .aggregate import collect_handlers
from .db import is_sqlite, serialize_schema_changes, write_transaction
from .eventstore import EventStore
from .fastsql import FastConnection, PlanCache, PlannerStatistics
from .follower import Delivered, LogFollower

log = logging.getLogger("ducha.projection")

kernel_metadata = MetaData()
positions = Table(
    "ducha_positions",
    kernel_metadata,
    Column("name", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

BATCH_MAX = 1000


class ProjectionError(ValueError):
    """An event that this projection cannot apply (bad data, not a database outage)."""


H = TypeVar("H", bound=Callable[..., None])
_HANDLES_ATTR = "__ducha_handles__"


class Projection:
    """A service's read model. Dispatch by event type with `Projection.handles`:

        class Problems(Projection):
            name, version, metadata = "problems", 1, metadata
            subjects = (context_filter("intake"),)

            @Projection.handles(IssueReported)
            def _reported(self, conn: Connection, event: Envelope[Any]) -> None:
                conn.execute(problems.insert().values(problem_id=event.aggregate_id, ...))

    `apply` calls the method for the event's payload type (events of other types change nothing);
    `apply_batch` applies a batch one by one: override it for set-based writes (catch-up speed).
    The dispatch table is built once per class."""

    name: ClassVar[str]
    version: ClassVar[int]
    subjects: ClassVar[Sequence[str]]
    metadata: ClassVar[MetaData]

    _kernel_dispatch: ClassVar[dict[type, Callable[..., None]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._kernel_dispatch = collect_handlers(cls, _HANDLES_ATTR)

    @staticmethod
    def handles(*event_types: type[DomainEvent]) -> Callable[[H], H]:
        """Mark a method `(self, conn, event)` as applying events of these payload types."""
        if not event_types:
            raise TypeError("Projection.handles needs at least one event type")

        def mark(fn: H) -> H:
            setattr(fn, _HANDLES_ATTR, tuple(getattr(fn, _HANDLES_ATTR, ())) + event_types)
            return fn

        return mark

    @classmethod
    def wanted_event_types(cls) -> frozenset[str] | None:
        """The event type names this projection reads, when it dispatches with `handles` only
        (the runner then does not decode the others); None when it overrides `apply` or
        `apply_batch` and so may look at any event."""
        if cls.apply is not Projection.apply or cls.apply_batch is not Projection.apply_batch:
            return None
        return frozenset(str(getattr(t, "event_type", t.__name__)) for t in cls._kernel_dispatch)

    @classmethod
    def handled_types(cls) -> tuple[type, ...]:
        """The payload types this projection has a handler for."""
        return tuple(cls._kernel_dispatch)

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        """Apply one event. Runs inside the runner's transaction; do no other I/O."""
        handler = self._kernel_dispatch.get(type(event.payload))
        if handler is not None:
            handler(self, conn, event)

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        """Override to apply many events with fewer statements (catch-up speed)."""
        for event in events:
            self.apply(conn, event)


def _is_outage(exc: BaseException) -> bool:
    """Database unreachable or locked: retry later, never dead-letter the event for it."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class ProjectionRunner(LogFollower):
    """Keeps one projection up to date with the log, in one service process."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        projection: Projection,
        service: str,
        batch_max: int = BATCH_MAX,
        until: int | None = None,
    ) -> None:
        super().__init__(store, service, projection.name, projection.subjects, batch_max=batch_max,
                         wanted=projection.wanted_event_types())
        self.engine = engine
        # Apply nothing after this log sequence: the projection as it was then ("as of", audit).
        self.until = until
        self.projection = projection
        self.last_applied_at: float | None = None
        self.applied = 0
        self._past_until = False
        self._plans = PlanCache(engine.dialect)
        self._statistics = PlannerStatistics(engine, projection.metadata)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self._start_following()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop following the log; a batch being applied is finished first (graceful shutdown)."""
        await self._stop_following(grace)

    async def rebuild(self) -> None:
        """Drop the projection and replay it from the log."""
        await self.stop()
        await asyncio.to_thread(self._drop)
        await self.start()

    async def catch_up(self, timeout: float = 600.0) -> int:
        """Wait until every event in the log now is applied; returns the log sequence reached."""
        target = await self.store.last_sequence()
        if not await self.wait_for(target, timeout=timeout):
            raise TimeoutError(f"{self.projection.name} did not reach sequence {target}")
        return target

    @property
    def store_stream(self) -> str:
        return self.store.stream

    def _load_position(self) -> int:
        return self._prepare()

    async def _handle(self, batch: list[Delivered]) -> None:
        if self.until is not None and batch[-1].sequence > self.until:
            batch = [d for d in batch if d.sequence <= self.until]
            self._past_until = True  # everything up to `until` was delivered before this
        if batch:
            await self._apply(batch)

    async def _apply(self, decoded: list[Delivered]) -> None:
        if not decoded:
            return
        for bad in (d for d in decoded if d.reason is not None):
            await self._dead_letter(bad, bad.reason or "malformed")
        good = [d.event for d in decoded if d.event is not None]
        last = decoded[-1].sequence
        try:
            await asyncio.to_thread(self._commit, good, last)
        except Exception as exc:
            if _is_outage(exc):
                raise
            # One bad event spoils the batch: apply one by one to find and dead-letter it.
            for event in good:
                try:
                    await asyncio.to_thread(self._commit, [event], event.sequence)
                except Exception as one_exc:
                    if _is_outage(one_exc):
                        raise
                    bad = next(d for d in decoded if d.sequence == event.sequence)
                    await self._dead_letter(bad, f"{type(one_exc).__name__}: {one_exc}")
                    await asyncio.to_thread(self._commit, [], event.sequence)
            await asyncio.to_thread(self._commit, [], last)
        self.last_applied_at = time.time()

    # ---------------------------------------------------------- database
    def _prepare(self) -> int:
        """Create tables; on a version change drop and start over. Returns the stored position."""
        with write_transaction(self.engine) as conn:
            serialize_schema_changes(conn, "positions")
            kernel_metadata.create_all(conn)
            row = conn.execute(
                select(positions.c.version, positions.c.last_sequence).where(
                    positions.c.name == self.projection.name
                )
            ).first()
            if row is not None and row.version != self.projection.version:
                log.warning(
                    "projection %s version %s -> %s: rebuilding from the log",
                    self.projection.name, row.version, self.projection.version,
                )
                self.projection.metadata.drop_all(conn)
                conn.execute(positions.delete().where(positions.c.name == self.projection.name))
                row = None
            self.projection.metadata.create_all(conn)
            if row is None:
                conn.execute(
                    positions.insert().values(
                        name=self.projection.name,
                        version=self.projection.version,
                        last_sequence=0,
                        updated_at=datetime.now(UTC),
                    )
                )
                return 0
            return int(row.last_sequence)

    def _drop(self) -> None:
        with write_transaction(self.engine) as conn:
            serialize_schema_changes(conn, "positions")
            kernel_metadata.create_all(conn)
            self.projection.metadata.drop_all(conn)
            conn.execute(positions.delete().where(positions.c.name == self.projection.name))
        self.position = 0

    def _commit(self, events: Sequence[Envelope[DomainEvent]], last: int) -> None:
        with write_transaction(self.engine) as conn:
            query = select(positions.c.last_sequence).where(positions.c.name == self.projection.name)
            if not is_sqlite(self.engine):
                query = query.with_for_update()  # SQLite: BEGIN IMMEDIATE already locked
            stored = conn.execute(query).scalar_one()
            if stored >= last:
                # Another instance applied these already.
                self.position = int(stored)
                return
            fresh = [e for e in events if e.sequence > stored]
            if fresh:
                fast = FastConnection(conn, self._plans)
                try:
                    self.projection.apply_batch(cast(Connection, fast), fresh)
                finally:
                    fast.close()
            conn.execute(
                update(positions)
                .where(positions.c.name == self.projection.name)
                .values(last_sequence=last, updated_at=datetime.now(UTC))
            )
        self.position = last
        self.applied += len(events)
        self._statistics.grown(self.applied)

    def stored_position(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(positions.c.last_sequence).where(positions.c.name == self.projection.name)
            ).scalar_one_or_none()
        return int(value or 0)

    async def replay_to(self, until: int, progress: Callable[[int], None] | None = None,
                        every: float = 0.5) -> None:
        """Wait until a replay started after `until` was in the log has applied everything up to it,
        calling `progress(position)` every `every` seconds meanwhile.

        Everything up to `until` was stored before the consumer started, so the replay is complete
        once the consumer reports nothing pending or delivers past `until`. The server is asked
        only as a fallback (a log with no event for this projection delivers nothing): one
        consumer-info request every 2 s, never a subject search, which on a long log is slow and
        competes with the replay."""
        loop = asyncio.get_running_loop()
        next_check = loop.time() + every
        while not (self.position >= until or self.caught_up or self._past_until):
            async with self._advanced:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._advanced.wait(), timeout=every)
            if progress is not None:
                progress(self.position)
            if loop.time() >= next_check:
                next_check = loop.time() + 2.0
                if await self._replay_drained():
                    return

    async def _replay_drained(self) -> bool:
        """Nothing left for a replay whose target was in the log before it started: the server
        has nothing pending for the consumer and every message it delivered has been applied
        (also right when no event matches, where the consumer's stream position runs ahead)."""
        if self._sub is None or not self._queue.empty() or self._in_hand:
            return False
        try:
            info = await self._sub.consumer_info()
        except Exception:  # noqa: BLE001 - consumer being recreated: ask again later
            return False
        delivered = info.delivered.consumer_seq if info.delivered else None
        return bool(info.num_pending == 0 and delivered is not None
                    and delivered == self._tracker.consumer_seq
                    and self._queue.empty() and not self._in_hand)

    # ------------------------------------------------------- read-your-writes
    async def wait_for(self, sequence: int, timeout: float = 2.0, server_every: float = 0.05) -> bool:
        """True once every event up to `sequence` that this projection follows is applied.

        Cheap checks first and server questions at most every `server_every` seconds: many
        requests wait at once under load, and JetStream answers API requests one at a time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_server_check = loop.time() + (min(0.01, server_every) if timeout else 0.0)
        while True:
            if self.position >= sequence:
                return True
            now = loop.time()
            if now >= next_server_check or now >= deadline:
                next_server_check = now + server_every
                if await self._nothing_to_apply_until(sequence):
                    return True
                if await asyncio.to_thread(self.stored_position) >= sequence:
                    return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            async with self._advanced:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._advanced.wait(), timeout=min(remaining, 0.02))

    async def _nothing_to_apply_until(self, sequence: int) -> bool:
        if self._sub is not None and (self._pending > 0 or not self._queue.empty() or self._in_hand):
            # Delivered but not applied, or the server said more is pending: events to apply
            # follow anyway, so asking the server (a consumer-info and a subject search per
            # filter, 20 times a second per waiter) would only compete with a catch-up.
            return False
        if sequence > self.store.known_last_sequence and sequence > await self.store.last_sequence():
            return False  # not in the log yet
        if await self._consumer_drained():
            return True
        for subject in self.projection.subjects:
            nxt = await self.store.next_sequence_matching(subject, self.position)
            if nxt is not None and nxt <= sequence:
                return False
        return True

    async def _consumer_drained(self) -> bool:
        """One request instead of one per filter: the consumer has nothing pending and everything
        it delivered is applied, so every matching event in the log is applied."""
        if self._sub is None or not self._queue.empty() or self._in_hand:
            return False
        try:
            info = await self._sub.consumer_info()
        except Exception:  # noqa: BLE001 - consumer being recreated: use the precise check
            return False
        delivered = info.delivered.stream_seq if info.delivered else None
        return bool(info.num_pending == 0 and delivered is not None and delivered <= self.position)

    def lag(self) -> dict[str, Any]:
        """Events still to apply: what the server said was pending after the last delivery, plus
        what is delivered but not yet applied."""
        behind = max(self._pending, 0) + self._queue.qsize() + self._in_hand
        since = time.time() - self.last_applied_at if self.last_applied_at else 0.0
        return {
            "projection": self.projection.name,
            "version": self.projection.version,
            "position": self.position,
            "caught_up": self.caught_up,
            "lag_events": behind,
            "lag_seconds": round(since, 3) if behind else 0.0,
            "applied": self.applied,
            "dead_letters": self.dead_letters,
            "paused": self.pause_reason(),
        }
