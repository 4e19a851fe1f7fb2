"""Reactions: a service turning other contexts' events into its own commands (a process manager),
e.g. rectification reopening a problem when verification rejects it.

At least once + idempotent = once: the runner stores its log position after reacting, and a
reaction's command id is derived from the source event id, so reacting again after a crash (or in
a second instance) finds the command already in the aggregate and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import nats.aio.msg
from sqlalchemy import Engine, select, update

from ..contracts.base import DomainEvent, Envelope
from ..contracts.registry import MalformedEvent
from .db import serialize_schema_changes, write_transaction
from .errors import DomainError, NotYetVisible
from .eventstore import DeliveryGap, DeliveryTracker, EventStore, EventStoreError, subscribe_ordered
from .observability import DEAD_LETTERS
from .projection import kernel_metadata, positions
from .subjects import dlq_subject

if TYPE_CHECKING:
    from .service import Kernel

log = logging.getLogger("ducha.reaction")


class Reaction(ABC):
    name: ClassVar[str]
    subjects: ClassVar[Sequence[str]]

    @abstractmethod
    async def react(self, kernel: Kernel, event: Envelope[DomainEvent]) -> None:
        """Issue the commands this event calls for. Use `derived_id(self.name, str(event.event_id))`
        as command id so a repeat writes nothing. Raise NotYetVisible to be retried later."""


class ReactionRunner:
    def __init__(self, kernel: Kernel, reaction: Reaction, retry_delay: float = 0.5) -> None:
        self.kernel = kernel
        self.reaction = reaction
        self.retry_delay = retry_delay
        self.position = 0
        self.dead_letters = 0
        self._queue: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._tracker = DeliveryTracker()

    @property
    def _name(self) -> str:
        return f"reaction:{self.reaction.name}"

    @property
    def store(self) -> EventStore:
        return self.kernel.store

    @property
    def engine(self) -> Engine:
        return self.kernel.engine

    async def start(self) -> None:
        self.position = await asyncio.to_thread(self._load_position)
        await self._subscribe()
        self._task = asyncio.create_task(self._work(), name=self._name)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
            self._task = None

    async def _subscribe(self) -> None:
        self._tracker = DeliveryTracker()
        self._queue = asyncio.Queue()
        self._sub = await subscribe_ordered(
            self.store.js, self.store._stream, list(self.reaction.subjects), self.position + 1,
            self._on_msg,
        )

    async def _on_msg(self, msg: nats.aio.msg.Msg) -> None:
        self._queue.put_nowait(msg)

    async def _work(self) -> None:
        while True:
            msg = await self._queue.get()
            try:
                seq, _pending = self._tracker.check(msg.reply)
                if seq <= self.position:
                    continue
                await self._handle(msg, seq)
                self.position = seq
                await asyncio.to_thread(self._store_position, seq)
            except asyncio.CancelledError:
                raise
            except (DeliveryGap, Exception) as exc:  # noqa: BLE001 - restart from the stored position
                log.error("%s failed at %s, restarting: %r", self._name, msg.subject, exc)
                await asyncio.sleep(self.retry_delay)
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
                self.position = await asyncio.to_thread(self._load_position)
                await self._subscribe()

    async def _handle(self, msg: nats.aio.msg.Msg, seq: int) -> None:
        try:
            event = self.store.decode(msg.data, seq, msg.subject.rpartition(".")[2])
        except MalformedEvent as exc:
            if exc.too_new:
                raise
            await self._dead_letter(msg, seq, exc.reason)
            return
        while True:
            try:
                await self.reaction.react(self.kernel, event)
                return
            except (NotYetVisible, EventStoreError) as exc:
                log.info("%s: retrying sequence %d later: %s", self._name, seq, exc)
                await asyncio.sleep(self.retry_delay)
            except DomainError as exc:
                # The command was refused by the rules (e.g. the problem was withdrawn meanwhile):
                # nothing to retry; keep the evidence.
                await self._dead_letter(msg, seq, f"{exc.code}: {exc.message}")
                return

    async def _dead_letter(self, msg: nats.aio.msg.Msg, seq: int, reason: str) -> None:
        reason = " ".join(reason.split())[:1000]
        log.warning("%s dead-lettered sequence %d: %s", self._name, seq, reason)
        await self.store.js.publish(
            dlq_subject(self.kernel.spec.name, self.reaction.name),
            msg.data,
            headers={
                "Nats-Msg-Id": f"{self.kernel.spec.name}.{self.reaction.name}.{seq}",
                "Ducha-Reason": reason,
                "Ducha-Original-Subject": msg.subject,
                "Ducha-Original-Sequence": str(seq),
                "Ducha-Consumer": f"{self.kernel.spec.name}/{self._name}",
            },
        )
        self.dead_letters += 1
        DEAD_LETTERS.labels(self.kernel.spec.name, self.reaction.name).inc()

    def _load_position(self) -> int:
        with write_transaction(self.engine) as conn:
            serialize_schema_changes(conn, "positions")
            kernel_metadata.create_all(conn)
            value = conn.execute(
                select(positions.c.last_sequence).where(positions.c.name == self._name)
            ).scalar_one_or_none()
            if value is None:
                conn.execute(
                    positions.insert().values(
                        name=self._name, version=1, last_sequence=0, updated_at=datetime.now(UTC)
                    )
                )
                return 0
            return int(value)

    def _store_position(self, seq: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(positions)
                .where(positions.c.name == self._name, positions.c.last_sequence < seq)
                .values(last_sequence=seq, updated_at=datetime.now(UTC))
            )
