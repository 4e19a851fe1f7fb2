"""Following the log: the one reader under projections and reactions.

A follower reads the events matching its subject filters from its stored position on, in log order,
with an ordered push consumer, in batches. It checks that deliveries are contiguous (a gap: start
again from the stored position) and sorts each message into one of three kinds:

- an **event** this service can read: handed to the subclass (`_handle`), which applies it and
  stores its new position;
- **malformed** (not a Ducha envelope, or a known type whose payload does not validate): handed on
  with its reason; the subclass dead-letters it and goes on (`_dead_letter`);
- **too new**: a type this service does not know, or a schema version newer than its own, i.e.
  written by a newer version of a producer deployed before this consumer. Never dead-lettered and
  never skipped: the follower applies what came before it and **pauses** at that sequence, raises
  the alarm (metric `ducha_consumer_paused{service,consumer}` = the sequence; `/ready` answers 503
  naming it), and looks again every `too_new_recheck` seconds. Once the service knows the type
  (normally: restarted with newer code), it continues from there.

Anything else that fails (database outage, a bug) restarts the follower from its stored position
after a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats.aio.msg

from ..contracts.base import DomainEvent, Envelope
from ..contracts.registry import MalformedEvent
from . import natsfast
from .eventstore import DeliveryGap, DeliveryTracker, EventStore, subscribe_ordered, written_by_newer
from .observability import CONSUMER_PAUSED, DEAD_LETTERS
from .subjects import dlq_subject

log = logging.getLogger("ducha.follower")


@dataclass(slots=True)
class Delivered:
    """One message of the log: its event, or (malformed) the reason it cannot be read."""

    sequence: int
    subject: str
    data: bytes
    event: Envelope[DomainEvent] | None
    reason: str | None = None  # why it cannot be read (malformed); None with no event: skipped

    @property
    def skipped(self) -> bool:
        """A known event type the consumer has no use for: not decoded, only passed over."""
        return self.event is None and self.reason is None


@dataclass(frozen=True, slots=True)
class Paused:
    """Why a follower stopped: the event at `sequence` is too new for this service."""

    sequence: int
    subject: str
    reason: str
    since: float

    def describe(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "event_type": self.subject.rpartition(".")[2],
                "reason": f"too new for this service: {self.reason}; deploy the newer version"}


class TooNew(Exception):
    def __init__(self, sequence: int, subject: str, reason: str) -> None:
        super().__init__(f"sequence {sequence} ({subject}): {reason}")
        self.sequence = sequence
        self.subject = subject
        self.reason = reason


class LogFollower:
    """Base of `ProjectionRunner` and `ReactionRunner`. Subclasses provide `_load_position()`
    (runs in a thread; creates what it needs) and `_handle(batch)` (applies the batch and sets
    `self.position`)."""

    too_new_recheck = 30.0  # seconds between looks at a too-new event

    def __init__(
        self,
        store: EventStore,
        service: str,
        consumer: str,
        subjects: Sequence[str],
        *,
        label: str | None = None,
        batch_max: int = 1000,
        retry_delay: float = 0.2,
        wanted: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.consumer = consumer  # dead-letter subject and metric label
        self.label = label or consumer  # logs and the dead letter's Ducha-Consumer header
        self.subjects = tuple(subjects)
        self.batch_max = batch_max
        self.retry_delay = retry_delay
        self.position = 0
        self.caught_up = False
        self.dead_letters = 0
        self.paused: Paused | None = None
        # The event types the consumer uses (None: all). Others of a type the service knows are
        # passed over undecoded (decoding is most of a replay's cost); unknown ones still pause.
        self.wanted = wanted
        self._known: frozenset[str] = frozenset()
        # Unbounded on purpose: flow control bounds what the server sends ahead, and a callback
        # that blocks makes nats-py drop messages as a slow consumer.
        self._queue: asyncio.Queue[nats.aio.msg.Msg | natsfast.Parts] = asyncio.Queue()
        self._tracker = DeliveryTracker()
        self._pending = -1
        self._in_hand = 0  # messages taken from the queue, not yet handled
        self._read_to = 0  # the last sequence sorted (handled, or being handled)
        self._backoff = retry_delay
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._advanced = asyncio.Condition()
        self._busy = asyncio.Lock()
        self._stopping = False

    # ---------------------------------------------------------- to provide
    def _load_position(self) -> int:
        raise NotImplementedError

    async def _handle(self, batch: list[Delivered]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ lifecycle
    async def _start_following(self) -> None:
        self._stopping = False
        self.paused = None  # a (re)start looks again; it pauses again if still too new
        CONSUMER_PAUSED.labels(self.service, self.consumer).set(0)
        self._queue = asyncio.Queue()
        self.position = await asyncio.to_thread(self._load_position)
        await self._subscribe()
        self._task = asyncio.create_task(self._work(), name=self.label)

    async def _stop_following(self, grace: float) -> None:
        """Stop following; a batch being handled is finished first (graceful shutdown)."""
        self._stopping = True
        await self._unsubscribe()
        if self._task is not None:
            if self._busy.locked():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wait_idle(), grace)
            self._task.cancel()
            await asyncio.wait([self._task], timeout=grace)
            self._task = None
        self._queue = asyncio.Queue()

    async def _wait_idle(self) -> None:
        async with self._busy:
            pass

    async def _subscribe(self) -> None:
        self.caught_up = False
        self._tracker = DeliveryTracker()
        self._sub = await subscribe_ordered(
            self.store.js, self.store.stream, list(self.subjects), self.position + 1, None
        )
        self._queue = natsfast.pending_queue(self._sub)  # read nats-py's queue: no callback per message
        natsfast.follow_fast(self._sub)
        self._in_hand = 0
        self._read_to = self.position
        self._known = frozenset(self.store.registry.types())

    async def _unsubscribe(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def _resync(self) -> None:
        """Start again from the stored position (after a gap, a failure or a pause)."""
        await self._unsubscribe()
        self._queue = asyncio.Queue()
        self.position = await asyncio.to_thread(self._load_position)
        await self._subscribe()

    # ---------------------------------------------------------------- work
    async def _work(self) -> None:
        while not self._stopping:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except TooNew as too_new:
                await self._pause(too_new)
            except Exception as exc:  # noqa: BLE001 - any failure: resync from the stored position
                log.error("%s/%s failed, resyncing from the stored position in %.1fs: %r",
                          self.service, self.label, self._backoff, exc)
                await asyncio.sleep(self._backoff)
                self._backoff = min(self._backoff * 2, 10.0)
                await self._resync()

    async def _follow(self) -> None:
        """Read, sort and hand on batches until something stops it (raises). The next batch is
        read and decoded on this thread while the previous one is handled (the projections'
        commits run in a worker thread): reading, decoding and committing take turns otherwise.
        Batches are handled one at a time, in order."""
        queue, sub = self._queue, self._sub
        handling: asyncio.Task[None] | None = None
        try:
            while True:
                if handling is not None and queue.empty():
                    await handling  # nothing to overlap with: settle it (a failure shows now)
                    handling = None
                batch = [await queue.get()]
                room = min(self.batch_max, queue.qsize() + 1)
                while len(batch) < room:
                    batch.append(queue.get_nowait())
                self._in_hand += len(batch)
                if sub is not None:
                    await natsfast.taken(sub, batch)
                delivered, stop = self._sort(batch)
                if handling is not None:
                    await handling
                handling = asyncio.create_task(self._hand_on(delivered, stop, len(batch)))
                if stop is not None:
                    await handling  # raises `stop` once what came before it is handled
        except BaseException as exc:
            if handling is not None:
                if isinstance(exc, asyncio.CancelledError):
                    handling.cancel()
                await asyncio.wait([handling])  # settled before anyone reloads the position
                if not handling.cancelled():
                    handling.exception()  # retrieved: the exception raised here is what counts
            raise

    def _sort(self, batch: list[nats.aio.msg.Msg | natsfast.Parts]) -> tuple[list[Delivered], Exception | None]:
        delivered: list[Delivered] = []
        tracker = self._tracker
        read_to = max(self._read_to, self.position)
        decode = self._decode
        for item in batch:
            subject, data, seq, cseq, pending, consumer = (
                item if isinstance(item, tuple) else natsfast.parts(item))
            if cseq != tracker.consumer_seq + 1 or consumer != tracker.consumer:
                try:
                    tracker.check_parts(consumer, cseq)
                except DeliveryGap as gap:
                    return delivered, gap  # handle what came before it, then restart from the stored position
            else:
                tracker.consumer_seq = cseq
            self._pending = pending
            if seq <= read_to:
                continue
            try:
                delivered.append(decode(subject, data, seq))
            except TooNew as too_new:
                return delivered, too_new
            read_to = seq
            self._read_to = seq
        return delivered, None

    async def _hand_on(self, delivered: list[Delivered], stop: Exception | None, taken: int) -> None:
        try:
            async with self._busy:
                if delivered:
                    await self._handle(delivered)
        finally:
            self._in_hand -= taken
        self._backoff = self.retry_delay
        if self.paused is not None and self.position >= self.paused.sequence:
            self._resume()
        self.caught_up = stop is None and self._pending == 0 and self._queue.empty() and not self._in_hand
        async with self._advanced:
            self._advanced.notify_all()
        if stop is not None:
            raise stop

    def _decode(self, subject: str, data: bytes, seq: int) -> Delivered:
        event_type = subject.rpartition(".")[2]
        if self.wanted is not None and event_type not in self.wanted and event_type in self._known:
            return Delivered(seq, subject, data, None)
        try:
            event = self.store.decode(data, seq, event_type)
            return Delivered(seq, subject, data, event)
        except MalformedEvent as exc:
            if exc.too_new or written_by_newer(self.store.registry, data):
                raise TooNew(seq, subject, exc.reason) from None
            return Delivered(seq, subject, data, None, exc.reason)

    # --------------------------------------------------------------- pause
    async def _pause(self, too_new: TooNew) -> None:
        first = self.paused is None or self.paused.sequence != too_new.sequence
        if first:
            self.paused = Paused(too_new.sequence, too_new.subject, too_new.reason, time.time())
            CONSUMER_PAUSED.labels(self.service, self.consumer).set(too_new.sequence)
            log.warning("%s/%s paused at sequence %d: %s (too new for this version; it continues once "
                        "the service knows it)", self.service, self.label, too_new.sequence, too_new.reason)
        await self._unsubscribe()  # read nothing more until then
        self._queue = asyncio.Queue()
        async with self._advanced:
            self._advanced.notify_all()
        await asyncio.sleep(self.too_new_recheck)
        await self._resync()

    def _resume(self) -> None:
        assert self.paused is not None
        log.warning("%s/%s continues past sequence %d", self.service, self.label, self.paused.sequence)
        self.paused = None
        CONSUMER_PAUSED.labels(self.service, self.consumer).set(0)

    def pause_reason(self) -> dict[str, Any] | None:
        """What `/ready` says while paused, else None."""
        return self.paused.describe() if self.paused is not None else None

    # --------------------------------------------------------- dead letters
    async def _dead_letter(self, bad: Delivered, reason: str) -> None:
        reason = " ".join(reason.split())[:1000]
        log.warning("%s/%s dead-lettered sequence %d (%s): %s",
                    self.service, self.label, bad.sequence, bad.subject, reason)
        await self.store.js.publish(
            dlq_subject(self.service, self.consumer),
            bad.data,
            headers={
                "Nats-Msg-Id": f"{self.service}.{self.consumer}.{bad.sequence}",
                "Ducha-Reason": reason,
                "Ducha-Original-Subject": bad.subject,
                "Ducha-Original-Sequence": str(bad.sequence),
                "Ducha-Consumer": f"{self.service}/{self.label}",
            },
        )
        self.dead_letters += 1
        DEAD_LETTERS.labels(self.service, self.consumer).inc()


__all__ = ["Delivered", "LogFollower", "Paused", "TooNew"]
