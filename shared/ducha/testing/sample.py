"""Sample contracts for the kernel's own tests, kept in a registry of their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, bindparam, func, select, update

from ducha.contracts import DomainEvent, Envelope, EventRegistry
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter

test_registry = EventRegistry()


@test_registry.register
class CounterOpened(DomainEvent):
    event_type = "CounterOpened"
    context = "kt"
    aggregate_type = "counter"
    title: str


@test_registry.register
class CounterIncremented(DomainEvent):
    """v2 renamed `amount` (v1) to `by` and added `note`."""

    event_type = "CounterIncremented"
    schema_version = 2
    context = "kt"
    aggregate_type = "counter"
    by: int
    note: str = ""


@test_registry.upcaster("CounterIncremented", 1)
def _incremented_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {"by": payload["amount"], "note": "(v1)"}


counter_metadata = MetaData()
counters = Table(
    "kt_counters",
    counter_metadata,
    Column("id", String(64), primary_key=True),
    Column("unit_id", String(64)),
    Column("title", String(200), nullable=False),
    Column("total", Integer, nullable=False, default=0),
    Column("increments", Integer, nullable=False, default=0),
    Column("last_sequence", Integer, nullable=False),
)


# Statements built once: building a SQLAlchemy statement per event costs ~8x executing it.
_open = counters.insert().values(
    id=bindparam("id"), unit_id=bindparam("unit_id"), title=bindparam("title"), total=0,
    increments=0, last_sequence=bindparam("seq"),
)
_increment = (
    update(counters)
    .where(counters.c.id == bindparam("cid"))
    .values(total=counters.c.total + bindparam("by"), increments=counters.c.increments + 1,
            last_sequence=bindparam("seq"))
)


class CounterProjection(Projection):
    name = "kt_counters"
    version = 1
    subjects = (context_filter("kt"),)
    metadata = counter_metadata

    @Projection.handles(CounterOpened)
    def _opened(self, conn: Connection, event: Envelope[Any]) -> None:
        conn.execute(_open, {"id": event.aggregate_id, "unit_id": event.unit_id, "title": event.payload.title,
                             "seq": event.sequence})

    @Projection.handles(CounterIncremented)
    def _incremented(self, conn: Connection, event: Envelope[Any]) -> None:
        p: CounterIncremented = event.payload
        if p.by < 0:
            raise ValueError("a counter never goes down")
        result = conn.execute(_increment, {"cid": event.aggregate_id, "by": p.by, "seq": event.sequence})
        if result.rowcount != 1:
            raise ValueError(f"no counter {event.aggregate_id}")


class CounterState(AggregateState):
    """A counter as its commands see it (the kernel's aggregate idiom)."""

    title: str = ""
    total: int = 0

    @applies(CounterOpened)
    def _opened(self, event: CounterOpened) -> None:
        self.title = event.title

    @applies(CounterIncremented)
    def _incremented(self, event: CounterIncremented) -> None:
        self.total += event.by


def dump(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(select(counters).order_by(counters.c.id))]


def total_increments(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(counters.c.increments), 0))).scalar_one())


