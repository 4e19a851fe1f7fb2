"""The event log on NATS JetStream.

- One stream (`DUCHA_EVENTS`) holds every event; its sequence is the global, total order.
- Appends carry the aggregate's expected last sequence, checked by the server over the aggregate's
  wildcard subject, so two writers of one aggregate can never both win.
- The command id becomes each message's `Nats-Msg-Id`, so a resent append is not stored twice.
- Several events of one command go in one JetStream atomic batch: all stored or none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from pydantic import ValidationError

from ..contracts.base import DomainEvent, Envelope, WireEnvelope, event_hash
from ..contracts.registry import EventRegistry, MalformedEvent
from . import natsfast
from .aggregate import LoadedAggregate
from .subjects import ALL_EVENTS, DLQ_PREFIX, DLQ_STREAM, EVENT_PREFIX, EVENT_STREAM, AggregateKey

log = logging.getLogger("ducha.eventstore")

WRONG_LAST_SEQUENCE = 10071
BATCH_DUPLICATE_MSG_ID = 10201
MAX_BATCH = 1000
DUPLICATE_WINDOW_SECONDS = 120.0


class EventStoreError(RuntimeError):
    pass


class ConcurrencyConflict(EventStoreError):
    """Another command appended to the aggregate since it was loaded."""

    def __init__(self, key: AggregateKey, expected: int, actual: int | None) -> None:
        super().__init__(
            f"{key.aggregate_type} {key.aggregate_id} changed: expected last sequence {expected}, "
            f"found {actual if actual is not None else 'another'}"
        )
        self.key = key
        self.expected = expected
        self.actual = actual


class AppendUnacknowledged(EventStoreError):
    """No acknowledgement in time (e.g. a cluster electing a new stream leader): the append may or
    may not be stored; retrying the same command is safe."""


class DuplicateAppend(EventStoreError):
    """The server recognised the message ids of this append: the command was already stored."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    first_sequence: int
    last_sequence: int
    duplicate: bool = False


def event_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=EVENT_STREAM,
        description="Ducha event log: the source of truth. Never edited.",
        subjects=[f"{EVENT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        discard=DiscardPolicy.NEW,  # never drop old events to make room
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
        allow_atomic=True,
        allow_direct=False,  # direct gets may be served by followers: not read-your-writes
    )


def dlq_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DLQ_STREAM,
        description="Messages a Ducha consumer could not process, with the reason in headers.",
        subjects=[f"{DLQ_PREFIX}.>"],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        deny_delete=True,
        deny_purge=True,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the streams, or bring an existing one's settings back to ours."""
    for config in (event_stream_config(replicas), dlq_stream_config(replicas)):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except nats.js.errors.BadRequestError:
                pass  # created concurrently by another service: update below
        await js.update_stream(config)


def _api_error(err: dict[str, Any]) -> nats.js.errors.APIError:
    return nats.js.errors.APIError(
        code=err.get("code"), err_code=err.get("err_code"), description=err.get("description")
    )


_WRONG_SEQ = re.compile(r"wrong last sequence: (\d+)")


def _conflict_actual(description: str | None) -> int | None:
    match = _WRONG_SEQ.search(description or "")
    return int(match.group(1)) if match else None


class EventLog(Protocol):
    """What commands and readers need of the event log. `EventStore` (NATS JetStream) implements
    it, and `ducha.testing.memory.MemoryEventStore` for tests; `shared/tests/test_store_contract.py`
    holds both to the same semantics."""

    known_last_sequence: int

    @property
    def registry(self) -> EventRegistry: ...

    async def append(
        self, key: AggregateKey, events: Sequence[Envelope[DomainEvent]], expected_last_sequence: int
    ) -> AppendResult: ...

    async def append_multi(
        self, parts: Sequence[tuple[AggregateKey, Sequence[Envelope[DomainEvent]], int]]
    ) -> AppendResult: ...

    async def load(self, key: AggregateKey) -> LoadedAggregate: ...

    def read_subject(self, subject_filter: str, after: int = 0) -> AsyncIterator[Envelope[DomainEvent]]: ...

    def read_subject_raw(
        self, subject_filter: str, after: int = 0
    ) -> AsyncIterator[tuple[Envelope[DomainEvent], bytes]]: ...

    async def find_unit(self, context: str, aggregate_type: str, aggregate_id: str) -> str | None: ...

    async def next_sequence_matching(self, subject_filter: str, after: int) -> int | None: ...

    async def last_sequence(self) -> int: ...

    async def get_raw(self, sequence: int) -> tuple[str, bytes]: ...

    def read_all(
        self, after: int = 0, filters: Sequence[str] = (ALL_EVENTS,), until: int | None = None
    ) -> AsyncIterator[tuple[int, str, bytes]]: ...

    def decode(self, data: bytes, sequence: int, event_type: str | None = None) -> Envelope[DomainEvent]: ...


class EventStore:
    def __init__(
        self,
        nc: NATS,
        registry: EventRegistry,
        stream: str = EVENT_STREAM,
        cache_size: int = 10_000,
        timeout: float = 2.0,
        api_timeout: float = 10.0,
    ) -> None:
        natsfast.install()  # before any message is read: header parsing dominated catch-up
        self._nc = nc
        # API calls (consumer creation on a long log, stream info) may take longer than an ack.
        self._js = nc.jetstream(timeout=api_timeout)
        self._registry = registry
        self._decoder = FastDecoder(registry)
        self._stream = stream
        self._timeout = timeout
        # Events are immutable, so an aggregate's cached prefix stays valid; the server's
        # expected-sequence check catches anything the cache has not seen yet.
        self._cache: OrderedDict[str, LoadedAggregate] = OrderedDict()
        # The highest log sequence this process has seen exist (appends, stream info): saves a
        # stream-info request when someone waits for a sequence we know is in the log.
        self.known_last_sequence = 0
        self._cache_size = cache_size

    @property
    def js(self) -> JetStreamContext:
        return self._js

    @property
    def nc(self) -> NATS:
        return self._nc

    @property
    def stream(self) -> str:
        return self._stream

    @property
    def registry(self) -> EventRegistry:
        return self._registry

    # ---------------------------------------------------------------- append
    async def append(
        self,
        key: AggregateKey,
        events: Sequence[Envelope[DomainEvent]],
        expected_last_sequence: int,
    ) -> AppendResult:
        """Append the events of one command atomically, if the aggregate's last stored sequence is
        still `expected_last_sequence` (0 = new aggregate)."""
        if not events:
            raise ValueError("nothing to append")
        if len(events) > MAX_BATCH:
            raise ValueError(f"one command may append at most {MAX_BATCH} events")
        expect = {
            "Nats-Expected-Last-Subject-Sequence": str(expected_last_sequence),
            "Nats-Expected-Last-Subject-Sequence-Subject": key.filter,
        }
        if len(events) == 1:
            result = await self._append_one(key, events[0], expect)
        else:
            result = await self._append_batch(key, events, expect)
        self._remember(key, events, expected_last_sequence, result)
        self.known_last_sequence = max(self.known_last_sequence, result.last_sequence)
        return result

    def _remember(
        self,
        key: AggregateKey,
        events: Sequence[Envelope[DomainEvent]],
        expected: int,
        result: AppendResult,
    ) -> None:
        """Extend the cached aggregate with what was just stored, so the next command on a long
        aggregate (a round's write-off ledger) does not reload it."""
        cached = self._cache.pop(key.filter, None)
        base = cached.events if cached and cached.last_sequence == expected else None
        if result.duplicate or (base is None and expected != 0):
            return
        stored = tuple(
            env.model_copy(update={"sequence": result.first_sequence + i}) for i, env in enumerate(events)
        )
        self._cache[key.filter] = LoadedAggregate(
            key, (base or ()) + stored, result.last_sequence, event_hash(events[-1].to_wire_json())
        )

    async def append_multi(
        self, parts: Sequence[tuple[AggregateKey, Sequence[Envelope[DomainEvent]], int]]
    ) -> AppendResult:
        """Append to several aggregates in one atomic batch, each with its own expected last
        sequence (e.g. a write-off ledger line and the problem it writes off)."""
        messages: list[tuple[str, bytes, dict[str, str]]] = []
        for key, events, expected in parts:
            for i, event in enumerate(events):
                headers = {"Nats-Msg-Id": f"{event.command_id}:{key.aggregate_type}:{key.aggregate_id}:{i + 1}"}
                if i == 0:
                    headers["Nats-Expected-Last-Subject-Sequence"] = str(expected)
                    headers["Nats-Expected-Last-Subject-Sequence-Subject"] = key.filter
                messages.append((key.subject(event.event_type), event.to_wire_json(), headers))
        if not messages or len(messages) > MAX_BATCH:
            raise ValueError(f"a command appends 1..{MAX_BATCH} events")
        try:
            resp = await self._publish_batch(messages)
            if "error" in resp:
                raise self._translate(parts[0][0], parts[0][2], _api_error(resp["error"]))
        except BaseException:
            for key, _events, _expected in parts:
                self._cache.pop(key.filter, None)
            raise
        seq = int(resp["seq"])
        first = seq - len(messages) + 1
        # Extend each cached aggregate with its part, as a single append does: a round's
        # 督办编号 series takes part in every report and would otherwise be reloaded whole each time.
        offset = first
        for key, events, expected in parts:
            self._remember(key, events, expected, AppendResult(offset, offset + len(events) - 1))
            offset += len(events)
        self.known_last_sequence = max(self.known_last_sequence, seq)
        return AppendResult(first, seq)

    async def _publish_batch(self, messages: Sequence[tuple[str, bytes, dict[str, str]]]) -> dict[str, Any]:
        batch_id = uuid.uuid4().hex
        last = len(messages)
        for i, (subject, body, headers) in enumerate(messages, start=1):
            headers = {**headers, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)}
            if i < last:
                await self._nc.publish(subject, body, headers=headers)
            else:
                headers["Nats-Batch-Commit"] = "1"
                return await self._request(subject, body, headers)
        raise AssertionError("unreachable")

    async def _append_one(
        self, key: AggregateKey, event: Envelope[DomainEvent], expect: dict[str, str]
    ) -> AppendResult:
        headers = {"Nats-Msg-Id": f"{event.command_id}:1", **expect}
        # nats-py 2.16's publish_async never completes its future on an API error (from_error
        # raises inside the reply callback), so a plain request it is.
        resp = await self._request(key.subject(event.event_type), event.to_wire_json(), headers)
        if "error" in resp:
            raise self._translate(
                key,
                int(expect["Nats-Expected-Last-Subject-Sequence"]),
                _api_error(resp["error"]),
            )
        seq = int(resp["seq"])
        return AppendResult(seq, seq, bool(resp.get("duplicate", False)))

    async def _request(self, subject: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        try:
            reply = await self._nc.request(subject, body, headers=headers, timeout=self._timeout)
        except nats.errors.NoRespondersError:
            # also what a cluster answers while it has no stream leader
            raise AppendUnacknowledged(f"no JetStream stream answered for {subject}") from None
        except nats.errors.TimeoutError:
            raise AppendUnacknowledged("no acknowledgement from JetStream in time") from None
        result: dict[str, Any] = json.loads(reply.data)
        return result

    async def _append_batch(
        self,
        key: AggregateKey,
        events: Sequence[Envelope[DomainEvent]],
        expect: dict[str, str],
    ) -> AppendResult:
        messages = []
        for i, event in enumerate(events, start=1):
            headers = {"Nats-Msg-Id": f"{event.command_id}:{i}"}
            if i == 1:
                headers.update(expect)  # checked against the state before the batch
            messages.append((key.subject(event.event_type), event.to_wire_json(), headers))
        resp = await self._publish_batch(messages)
        if "error" in resp:
            raise self._translate(
                key,
                int(expect["Nats-Expected-Last-Subject-Sequence"]),
                _api_error(resp["error"]),
            )
        seq = int(resp["seq"])
        count = int(resp.get("count", len(events)))
        return AppendResult(seq - count + 1, seq)

    def _translate(self, key: AggregateKey, expected: int, exc: Exception) -> Exception:
        code = getattr(exc, "err_code", None)
        if code == WRONG_LAST_SEQUENCE:
            return ConcurrencyConflict(key, expected, _conflict_actual(getattr(exc, "description", "")))
        if code == BATCH_DUPLICATE_MSG_ID:
            return DuplicateAppend(str(exc))
        return EventStoreError(f"JetStream refused the append: {exc}")

    # ------------------------------------------------------------------ load
    async def load(self, key: AggregateKey) -> LoadedAggregate:
        """All events of one aggregate, in order (leader reads: sees every acknowledged append)."""
        cached = self._cache.get(key.filter)
        events = list(cached.events) if cached else []
        last = cached.last_sequence if cached else 0
        last_hash = cached.last_hash if cached else None
        async for env, data in self.read_subject_raw(key.filter, after=last):
            events.append(env)
            last = env.sequence
            last_hash = event_hash(data)
        loaded = LoadedAggregate(key, tuple(events), last, last_hash)
        if events:
            self._cache[key.filter] = loaded
            self._cache.move_to_end(key.filter)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return loaded

    async def read_subject(self, subject_filter: str, after: int = 0) -> AsyncIterator[Envelope[DomainEvent]]:
        """Events matching one filter after a sequence, one leader read each: for short histories
        (one aggregate, one problem). Use `read_all` for long ones."""
        async for env, _data in self.read_subject_raw(subject_filter, after):
            yield env

    async def read_subject_raw(
        self, subject_filter: str, after: int = 0
    ) -> AsyncIterator[tuple[Envelope[DomainEvent], bytes]]:
        seq = after + 1
        while True:
            try:
                raw = await self._js.get_msg(self._stream, seq=seq, subject=subject_filter, next=True)
            except nats.js.errors.NotFoundError:
                return
            assert raw.seq is not None
            seq = raw.seq + 1
            data = raw.data or b""
            try:
                env = self._decoder.decode(data, raw.seq, (raw.subject or "").rpartition(".")[2])
            except MalformedEvent as exc:
                if exc.too_new or written_by_newer(self._registry, data):
                    # Deciding on a history with a part left out would be wrong: refuse (503).
                    raise EventStoreError(f"sequence {raw.seq}: too new for this service: {exc.reason}") from exc
                # Not written by Ducha (the kernel writes only valid events): not part of the
                # aggregate's history. Projections dead-letter it with the reason.
                log.warning("skipping unreadable message at sequence %d: %s", raw.seq, exc.reason)
                continue
            yield env, data

    async def find_unit(self, context: str, aggregate_type: str, aggregate_id: str) -> str | None:
        """The unit token an existing aggregate is stored under ("_" for none), or None when the
        aggregate has no events: lets an API address a problem by its id alone."""
        subject = f"{EVENT_PREFIX}.{context}.*.{aggregate_type}.{aggregate_id}.*"
        try:
            raw = await self._js.get_msg(self._stream, seq=1, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            return None
        return (raw.subject or "").split(".")[3]

    async def next_sequence_matching(self, subject_filter: str, after: int) -> int | None:
        """Sequence of the first event after `after` that matches the filter, or None."""
        try:
            raw = await self._js.get_msg(self._stream, seq=after + 1, subject=subject_filter, next=True)
        except nats.js.errors.NotFoundError:
            return None
        return raw.seq

    async def last_sequence(self) -> int:
        info = await self._js.stream_info(self._stream)
        self.known_last_sequence = max(self.known_last_sequence, int(info.state.last_seq))
        return int(info.state.last_seq)

    async def get_raw(self, sequence: int) -> tuple[str, bytes]:
        raw = await self._js.get_msg(self._stream, seq=sequence)
        return raw.subject or "", raw.data or b""

    async def read_all(
        self,
        after: int = 0,
        filters: Sequence[str] = (ALL_EVENTS,),
        until: int | None = None,
    ) -> AsyncIterator[tuple[int, str, bytes]]:
        """Raw (sequence, subject, body) of every event in log order, for replay and audit.
        Stops at `until` (default: the log's last sequence when called)."""
        end = until if until is not None else await self.last_sequence()
        if end <= after:
            return
        # Unbounded: flow control (not this queue) limits what the server sends ahead; blocking
        # here would make nats-py drop messages as a slow consumer.
        queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue()
        tracker = DeliveryTracker()

        async def on_msg(msg: Msg) -> None:
            try:
                seq, _pending = tracker.check(msg.reply)
            except DeliveryGap as gap:
                queue.put_nowait((-1, str(gap), b""))
                return
            queue.put_nowait((seq, msg.subject, msg.data))

        sub = await subscribe_ordered(self._js, self._stream, filters, after + 1, on_msg)
        filtered = list(filters) != [ALL_EVENTS]
        if filtered and await self._none_left(filters, after, end):
            await sub.unsubscribe()
            return
        try:
            while True:
                seq, subject, data = await asyncio.wait_for(queue.get(), timeout=30)
                if seq < 0:
                    raise DeliveryGap(subject)
                if seq > end:
                    return
                yield seq, subject, data
                if seq == end:
                    return
                # A filtered read may have no event at `end` itself.
                if filtered and queue.empty() and await self._none_left(filters, seq, end):
                    return
        finally:
            await sub.unsubscribe()

    async def _none_left(self, filters: Sequence[str], after: int, end: int) -> bool:
        for f in filters:
            nxt = await self.next_sequence_matching(f, after)
            if nxt is not None and nxt <= end:
                return False
        return True

    def decode(self, data: bytes, sequence: int, event_type: str | None = None) -> Envelope[DomainEvent]:
        return self._decoder.decode(data, sequence, event_type)


class FastDecoder:
    """The registry's decode with the per-type work done once: the typed envelope's validator and
    the current schema version are looked up per event type, not per message (pydantic's
    `model_fields` accessor alone cost ~10% of a replay). A message of an older shape, an unknown
    type or bad data takes the registry's careful path, which upcasts or says why."""

    def __init__(self, registry: EventRegistry) -> None:
        self._registry = registry
        self._types: dict[str, tuple[Callable[[bytes], Any], int]] = {}

    def decode(self, data: bytes, sequence: int, event_type: str | None = None) -> Envelope[DomainEvent]:
        if event_type is not None:
            entry = self._types.get(event_type) or self._learn(event_type)
            if entry is not None:
                validate, version = entry
                try:
                    env: Envelope[DomainEvent] = validate(data)
                except ValidationError:
                    pass
                else:
                    if env.schema_version == version:
                        env.__dict__["sequence"] = sequence  # the log position: set without a copy
                        return env
        return self._registry.decode(data, sequence, event_type)

    def _learn(self, event_type: str) -> tuple[Callable[[bytes], Any], int] | None:
        try:
            cls = self._registry.get(event_type)
        except MalformedEvent:
            return None  # not cached: the registry may learn it (an upgrade in the same process)
        model: Any = Envelope[cls]  # type: ignore[valid-type]
        entry = (model.__pydantic_validator__.validate_json, cls.schema_version)
        self._types[event_type] = entry
        return entry


def written_by_newer(registry: EventRegistry, data: bytes) -> bool:
    """A well-formed Ducha envelope of an event type this registry does not know: written by a newer
    version of some service (deployed before this one), not garbage. Read it after the upgrade."""
    try:
        wire = WireEnvelope.model_validate_json(data)
    except ValidationError:
        return False
    try:
        registry.get(wire.event_type)
    except MalformedEvent:
        return True
    return False


class DeliveryGap(EventStoreError):
    """A message of an ordered consumer was lost on the way (e.g. dropped by a slow client)."""


class DeliveryTracker:
    """Checks that an ordered consumer's deliveries are contiguous, from the reply subject alone
    (much cheaper than `msg.metadata`; this runs once per event during catch-up).

    v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
    v2: $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.<rnd>

    nats-py recreates an ordered consumer after a gap *it* notices, but it counts messages it
    dropped itself as delivered; so any new consumer or skipped consumer sequence is a gap for us,
    and the reader restarts from what it has really applied."""

    def __init__(self) -> None:
        self.consumer: str | None = None
        self.consumer_seq = 0

    def check(self, reply: str) -> tuple[int, int]:
        """Returns (stream sequence, pending); raises DeliveryGap."""
        t = reply.split(".")
        if len(t) == 9:
            consumer, sseq, cseq, pending = t[3], int(t[5]), int(t[6]), int(t[8])
        else:
            consumer, sseq, cseq, pending = t[5], int(t[7]), int(t[8]), int(t[10])
        self.check_parts(consumer, cseq)
        return sseq, pending

    def check_parts(self, consumer: str, cseq: int) -> None:
        """`check` for a reply already split (the log follower's fast path)."""
        if consumer != self.consumer:
            if self.consumer is not None or cseq != 1:
                raise DeliveryGap(f"consumer changed to {consumer} at consumer sequence {cseq}")
            self.consumer = consumer
        elif cseq != self.consumer_seq + 1:
            raise DeliveryGap(f"consumer sequence jumped from {self.consumer_seq} to {cseq}")
        self.consumer_seq = cseq


async def subscribe_ordered(
    js: JetStreamContext,
    stream: str,
    filters: Sequence[str],
    start_sequence: int,
    cb: object | None,
) -> nats.js.JetStreamContext.PushSubscription:
    """An ordered push consumer from `start_sequence` over several subject filters: in order,
    no acks, recreated by nats-py at the right place after a gap."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(1, start_sequence),
        filter_subjects=list(filters) if len(filters) > 1 else None,
        filter_subject=filters[0] if len(filters) == 1 else None,
    )
    return await js.subscribe(
        filters[0],
        stream=stream,
        cb=cb,  # type: ignore[arg-type]
        ordered_consumer=True,
        config=config,
    )


__all__ = [
    "AppendResult",
    "ConcurrencyConflict",
    "DeliveryGap",
    "DeliveryTracker",
    "DuplicateAppend",
    "EventLog",
    "EventStore",
    "EventStoreError",
    "LoadedAggregate",
    "MalformedEvent",
    "ensure_streams",
    "subscribe_ordered",
    "written_by_newer",
]
