"""The kernel's idioms every service uses: aggregate state, projection dispatch, the HTTP glue, facts
with a wait, periodic jobs. Fast: no NATS, no database unless a test says so."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from ducha.contracts import Actor, DomainEvent, Envelope, Role
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.batched import BatchedProjection
from ducha.kernel.errors import Forbidden, NotFound, NotYetVisible
from ducha.kernel.eventstore import LoadedAggregate as ReExported
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    CommandAnswer,
    KernelDep,
    command_answer,
    install_error_handlers,
    require_role,
    require_scope,
)
from ducha.kernel.jobs import periodic
from ducha.kernel.lookup import facts_with_wait, read
from ducha.kernel.projection import Projection
from ducha.kernel.service import Kernel
from ducha.kernel.subjects import AggregateKey
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterProjection, CounterState
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, MetaData

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)
KEY = AggregateKey("kt", "counter", "c1", "U1")


def envelope(payload: DomainEvent, sequence: int, version: int = 1) -> Envelope[DomainEvent]:
    return Envelope[DomainEvent](
        event_id=uuid.uuid4(), event_type=payload.event_type, schema_version=payload.schema_version,
        context=payload.context, aggregate_type=payload.aggregate_type, aggregate_id="c1",
        aggregate_version=version, unit_id="U1", actor=OFFICE, occurred_at=datetime.now(UTC),
        command_id=f"cmd-{sequence:05d}", correlation_id=f"cmd-{sequence:05d}", payload=payload,
        sequence=sequence,
    )


HISTORY = (envelope(CounterOpened(title="计数"), 3), envelope(CounterIncremented(by=2), 7, 2),
           envelope(CounterIncremented(by=5), 9, 3))


# ------------------------------------------------------------------ aggregate state
def test_state_folds_events_through_its_applies_methods() -> None:
    state = CounterState.fold(HISTORY)
    assert (state.title, state.total) == ("计数", 7)
    assert (state.id, state.version, state.last_sequence, state.exists) == ("c1", 3, 9, True)
    assert not CounterState.fold(()).exists


def test_state_of_a_loaded_aggregate_and_the_eventstore_re_export() -> None:
    assert ReExported is LoadedAggregate  # domain code imports the pure module; old imports still work
    state = CounterState.of(LoadedAggregate(KEY, HISTORY, 9))
    assert (state.id, state.total) == ("c1", 7)


def test_applies_with_envelope_subclass_override_and_unhandled_types() -> None:
    class Audited(CounterState):
        seen: tuple[int, ...] = ()

        @applies(CounterIncremented)
        def _incremented(self, event: CounterIncremented, env: Envelope[Any]) -> None:
            self.total += 10 * event.by
            self.seen = (*self.seen, env.sequence)

    class OnlyOpened(AggregateState):
        title: str = ""

        @applies(CounterOpened)
        def _opened(self, event: CounterOpened) -> None:
            self.title = event.title

    audited = Audited.fold(HISTORY)
    assert (audited.title, audited.total, audited.seen) == ("计数", 70, (7, 9))
    only = OnlyOpened.fold(HISTORY)  # events without a method change nothing but are counted
    assert (only.title, only.version) == ("计数", 3)
    assert CounterState.fold(HISTORY).total == 7  # the base class's table is its own


# ------------------------------------------------------------------ projection dispatch
def test_projection_handles_dispatches_by_payload_type() -> None:
    calls: list[tuple[str, int]] = []

    class Recorder(CounterProjection):
        @Projection.handles(CounterIncremented)
        def _incremented(self, conn: Connection, event: Envelope[Any]) -> None:
            calls.append(("inc", event.sequence))

    class Both(Projection):
        @Projection.handles(CounterOpened, CounterIncremented)
        def _any(self, conn: Connection, event: Envelope[Any]) -> None:
            calls.append((event.event_type, event.sequence))

    conn = cast(Connection, None)
    Recorder().apply_batch(conn, HISTORY[1:])
    Both().apply_batch(conn, HISTORY[:2])
    assert calls == [("inc", 7), ("inc", 9), ("CounterOpened", 3), ("CounterIncremented", 7)]
    assert set(Both.handled_types()) == {CounterOpened, CounterIncremented}
    assert set(CounterProjection.handled_types()) == {CounterOpened, CounterIncremented}


def test_a_batched_projection_gathers_a_run_of_events_and_writes_once() -> None:
    class Tally:
        def __init__(self, events: int) -> None:
            self.seen: list[str] = []
            self.flushed = 0
            self.events = events

        def flush(self) -> None:
            self.flushed += 1

    batches: list[Tally] = []

    class Counts(BatchedProjection[Tally]):
        name, version, subjects, metadata = "kt_counts", 1, ("ducha.ev.kt.>",), MetaData()
        also_reads = frozenset({"CounterOpened"})

        def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> Tally:
            batches.append(Tally(len(events)))
            return batches[-1]

        def before(self, batch: Tally, event: Envelope[DomainEvent]) -> None:
            batch.seen.append(f"before {event.event_type}")

        @Projection.handles(CounterIncremented)
        def _inc(self, batch: Tally, event: Envelope[Any]) -> None:
            batch.seen.append(f"+{event.payload.by}")

    class LooksAtEverything(Counts):
        def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
            super().apply(conn, event)

    Counts().apply_batch(cast(Connection, None), HISTORY)
    Counts().apply(cast(Connection, None), HISTORY[1])
    assert [(b.events, b.seen, b.flushed) for b in batches] == [
        (3, ["before CounterOpened", "before CounterIncremented", "+2", "before CounterIncremented", "+5"], 1),
        (1, ["before CounterIncremented", "+2"], 1)]
    # the follower decodes only what it has handlers for and what `before` reads
    assert Counts.wanted_event_types() == frozenset({"CounterIncremented", "CounterOpened"})
    assert LooksAtEverything.wanted_event_types() is None


# ------------------------------------------------------------------ HTTP glue
def test_roles_and_scope() -> None:
    unit = Actor(id="u", name="单位", role=Role.UNIT, unit_id="U1")
    team = Actor(id="t", name="组", role=Role.TEAM, team_id="T1")
    helper = Actor(id="h", name="协办", role=Role.HELPER, unit_id="H1")
    require_role(unit, Role.UNIT, Role.OFFICE)
    with pytest.raises(Forbidden, match="may not review"):
        require_role(team, Role.OFFICE, doing="review")
    require_scope(unit, unit_id="U1", team_id="T9")  # a unit is scoped by its unit only
    with pytest.raises(NotFound, match="no problem P1"):
        require_scope(unit, unit_id="U2", missing="no problem P1")
    with pytest.raises(Forbidden):
        require_scope(team, unit_id="U1", team_id="T2")
    require_scope(team, unit_id="U9", team_id="T1")
    with pytest.raises(NotFound):
        require_scope(helper, unit_id="U1", helper_ids={"H2"})
    require_scope(helper, unit_id="U1", helper_ids={"H1"})
    require_scope(OFFICE, unit_id="U1", team_id="T1", helper_ids=())


def test_kernel_dependency_and_command_answer() -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.kernel = SimpleNamespace(spec=SimpleNamespace(name="demo"))

    @app.post("/things", response_model=CommandAnswer, responses=COMMAND_ERRORS)
    async def create(kernel: KernelDep) -> dict[str, Any]:
        result = SimpleNamespace(aggregate_id=kernel.spec.name, last_sequence=42, replayed=False)
        return command_answer(cast(Any, result))

    @app.get("/things", responses=QUERY_ERRORS)
    async def query() -> None:
        raise NotFound("no thing")

    with TestClient(app) as client:
        assert client.post("/things").json() == {"id": "demo", "sequence": 42, "replayed": False}
        assert client.get("/things").json()["error"]["code"] == "not_found"
        spec = client.get("/openapi.json").json()
    assert set(spec["paths"]["/things"]["post"]["responses"]) >= {"401", "403", "409", "422", "503"}
    assert "409" not in spec["paths"]["/things"]["get"]["responses"]


# ------------------------------------------------------------------ facts with a wait
class FakeKernel:
    """What `facts_with_wait` uses of a kernel: a projection that reaches `reach` in time or not."""

    def __init__(self, caught_up: bool) -> None:
        self.settings = SimpleNamespace(read_wait_seconds=0.01)
        self.spec = SimpleNamespace(name="demo")
        self.store = SimpleNamespace(last_sequence=self._last)
        self._caught_up = caught_up
        self.waited: list[int] = []

    async def _last(self) -> int:
        return 50

    async def wait_for(self, sequence: int, timeout: float | None = None) -> bool:
        self.waited.append(sequence)
        return self._caught_up


async def test_facts_with_wait_found_missing_or_not_yet_visible() -> None:
    values: list[str | None] = [None, "P1"]

    def appears() -> str | None:
        return values.pop(0)

    kernel = FakeKernel(caught_up=True)
    assert await facts_with_wait(cast(Kernel, kernel), appears, what="no problem P1") == "P1"
    assert kernel.waited == [50]  # waited for the log's end, then read again
    with pytest.raises(NotFound, match="no problem P2"):
        await facts_with_wait(cast(Kernel, kernel), lambda: None, what="no problem P2")
    lagging = FakeKernel(caught_up=False)
    with pytest.raises(NotYetVisible):
        await facts_with_wait(cast(Kernel, lagging), lambda: None, what="no problem P3", min_sequence=77)
    assert lagging.waited == [77]  # the client's own write, not the log's end

    async def not_fed_back() -> dict[str, bool]:
        return {"fed_back": False}

    # Exists but not ready once caught up: returned as it is, the caller decides (409).
    got = await facts_with_wait(cast(Kernel, kernel), not_fed_back, what="no problem P4",
                                ready=lambda f: f["fed_back"])
    assert got == {"fed_back": False}
    with pytest.raises(NotYetVisible):
        await facts_with_wait(cast(Kernel, lagging), not_fed_back, what="x", ready=lambda f: f["fed_back"])
    assert await read(lambda a, b: a + b, 2, 3) == 5


# ------------------------------------------------------------------ periodic jobs
async def test_periodic_job_survives_failures_and_stops_on_cancel() -> None:
    runs: list[int] = []

    async def tick(kernel: Any) -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("one bad run")

    job = periodic("demo-scan", 0.01, tick)
    assert job.__name__ == "demo_scan"
    task = asyncio.create_task(job(cast(Kernel, SimpleNamespace())))
    while len(runs) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    count = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == count  # stopped
