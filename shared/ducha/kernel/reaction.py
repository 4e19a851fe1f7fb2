"""Reactions: a service turning other contexts' events into its own commands (a process manager),
e.g. rectification reopening a problem when verification rejects it.

At least once + idempotent = once: the runner stores its log position after reacting, and a
reaction's command id is derived from the source event id, so reacting again after a crash (or in
a second instance) finds the command already in the aggregate and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Engine, select, update

from ..contracts.base import DomainEvent, Envelope
from .db import serialize_schema_changes, write_transaction
from .errors import DomainError, NotYetVisible
from .eventstore import EventStoreError
from .follower import Delivered, LogFollower
from .projection import kernel_metadata, positions

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


class ReactionRunner(LogFollower):
    """Follows a reaction's subjects (the kernel's one log follower) and reacts to each event in
    order, storing its position after each."""

    def __init__(self, kernel: Kernel, reaction: Reaction, retry_delay: float = 0.5) -> None:
        super().__init__(kernel.store, kernel.spec.name, reaction.name, reaction.subjects,
                         label=f"reaction:{reaction.name}", batch_max=100, retry_delay=retry_delay)
        self.kernel = kernel
        self.reaction = reaction

    @property
    def _name(self) -> str:
        return self.label

    @property
    def engine(self) -> Engine:
        return self.kernel.engine

    async def start(self) -> None:
        await self._start_following()

    async def stop(self, grace: float = 5.0) -> None:
        await self._stop_following(grace)

    async def _handle(self, batch: list[Delivered]) -> None:
        for item in batch:
            if item.event is not None:
                await self._react(item, item.event)
            elif item.reason is not None:
                await self._dead_letter(item, item.reason)
            self.position = item.sequence
            await asyncio.to_thread(self._store_position, item.sequence)

    async def _react(self, item: Delivered, event: Envelope[DomainEvent]) -> None:
        while True:
            try:
                await self.reaction.react(self.kernel, event)
                return
            except (NotYetVisible, EventStoreError) as exc:
                log.info("%s: retrying sequence %d later: %s", self._name, item.sequence, exc)
                await asyncio.sleep(self.retry_delay)
            except DomainError as exc:
                # The command was refused by the rules (e.g. the problem was withdrawn meanwhile):
                # nothing to retry; keep the evidence.
                await self._dead_letter(item, f"{exc.code}: {exc.message}")
                return

    def status(self) -> dict[str, Any]:
        return {"reaction": self.reaction.name, "position": self.position,
                "dead_letters": self.dead_letters, "paused": self.pause_reason()}

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
