"""A projection that writes set-based: its `Projection.handles` methods gather rows on a batch object,
and the batch writes them once per run of events (one read of the rows it changes, one prebuilt
statement per kind of change). Live, a run is often one event; in a catch-up it is a thousand.

    class Deliveries(BatchedProjection[DeliveryBatch]):
        name, version, metadata = "deliveries", 1, metadata
        subjects = ("ducha.ev.notify._.subscription.>",)

        def begin(self, conn, events):
            return DeliveryBatch(conn)

        @Projection.handles(WebhookDeliveryAttempted)
        def _attempted(self, batch: DeliveryBatch, event: Envelope[Any]) -> None:
            batch.deliveries[...] = ...

Dispatch stays `Projection.handles` only, so the follower does not decode the events a batched
projection has no handler for; a projection that also folds other types in `before` names them in
`also_reads`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import Connection

from ..contracts.base import DomainEvent, Envelope
from .projection import Projection


class Flushes(Protocol):
    def flush(self) -> None: ...


B = TypeVar("B", bound=Flushes)


class BatchedProjection(Projection, Generic[B]):
    # Event types read in `before` besides those with a handler.
    also_reads: ClassVar[frozenset[str]] = frozenset()

    def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> B:
        """The batch for this run of events (it may read the rows they touch, all at once)."""
        raise NotImplementedError

    def before(self, batch: B, event: Envelope[DomainEvent]) -> None:
        """Called for each event before its handler (default: nothing)."""

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        batch = self.begin(conn, events)
        for event in events:
            self.before(batch, event)
            handler = self._kernel_dispatch.get(type(event.payload))
            if handler is not None:
                handler(self, batch, event)
        batch.flush()

    @classmethod
    def wanted_event_types(cls) -> frozenset[str] | None:
        if cls.apply is not BatchedProjection.apply or cls.apply_batch is not BatchedProjection.apply_batch:
            return None  # a subclass with its own apply may look at anything
        handled = frozenset(str(getattr(t, "event_type", t.__name__)) for t in cls._kernel_dispatch)
        return handled | cls.also_reads
