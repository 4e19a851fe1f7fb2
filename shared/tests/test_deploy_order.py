"""Services deploy one at a time: a producer with a new event type goes first, its consumers later.

A consumer that meets an event it does not know yet pauses there (no dead letter, nothing skipped),
says so (metric, `/ready`), and continues once it knows the type. Garbage still goes to the
dead-letter stream."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import nats.js.errors
import pytest
from ducha.contracts import Actor, DomainEvent, Envelope, EventRegistry, Role
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import EventStore
from ducha.kernel.observability import CONSUMER_PAUSED
from ducha.kernel.projection import Projection, ProjectionRunner
from ducha.kernel.reaction import Reaction, ReactionRunner
from ducha.kernel.service import Kernel, readiness
from ducha.kernel.subjects import DLQ_STREAM, AggregateKey, context_filter
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterProjection, total_increments
from nats.aio.client import Client as NATS
from sqlalchemy import Connection, Engine

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)
KEY = AggregateKey("kt", "counter", "c0", "U0")


class CounterReset(DomainEvent):
    """New in the producer's next version: its consumers do not know it yet."""

    event_type = "CounterReset"
    context = "kt"
    aggregate_type = "counter"
    reason: str


def registry(*extra: type[DomainEvent]) -> EventRegistry:
    reg = EventRegistry()
    for cls in (CounterOpened, CounterIncremented, *extra):
        reg.register(cls)
    return reg


class NewerCounters(CounterProjection):
    """The consumer's next version: it knows the new event."""

    resets = 0

    @Projection.handles(CounterReset)
    def _reset(self, conn: Connection, event: Envelope[Any]) -> None:
        NewerCounters.resets += 1


async def produce(producer: EventStore) -> tuple[int, int]:
    """Open, increment, reset (new type), increment. Returns (sequence of the reset, last)."""
    runner = CommandRunner(producer)
    await runner.run(KEY, CommandContext(OFFICE, "open-c0-000"), lambda _l: [CounterOpened(title="计数")])
    await runner.run(KEY, CommandContext(OFFICE, "inc-c0-0001"), lambda _l: [CounterIncremented(by=1)])
    reset = await runner.run(KEY, CommandContext(OFFICE, "reset-c0-01"), lambda _l: [CounterReset(reason="新版")])
    last = await runner.run(KEY, CommandContext(OFFICE, "inc-c0-0002"), lambda _l: [CounterIncremented(by=2)])
    return reset.last_sequence, last.last_sequence


async def dead_letters(nc: NATS) -> int:
    try:
        info = await nc.jetstream().stream_info(DLQ_STREAM)
    except nats.js.errors.NotFoundError:
        return 0
    return int(info.state.messages)


async def until(condition: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_projection_pauses_at_a_too_new_event_and_continues_after_the_upgrade(
    nc: NATS, engine: Engine
) -> None:
    producer = EventStore(nc, registry(CounterReset))  # deployed first
    reset_seq, last = await produce(producer)
    consumer = EventStore(nc, registry())  # not yet upgraded
    runner = ProjectionRunner(engine, consumer, CounterProjection(), "kt")
    runner.too_new_recheck = 0.1  # it looks again, and stays paused while it still does not know
    await runner.start()
    try:
        await until(lambda: runner.paused is not None and runner.position == reset_seq - 1)
        await asyncio.sleep(0.4)  # several looks later: still there, nothing skipped
        assert runner.position == reset_seq - 1 and runner.paused is not None
        assert not await runner.wait_for(last, timeout=0.2)
        assert runner.lag()["paused"]["event_type"] == "CounterReset"
        assert runner.lag()["paused"]["sequence"] == reset_seq
        assert CONSUMER_PAUSED.labels("kt", "kt_counters")._value.get() == reset_seq
        assert runner.dead_letters == 0 and await dead_letters(nc) == 0
        with engine.connect() as conn:
            assert total_increments(conn) == 1
        kernel = SimpleNamespace(nc=nc, store=consumer, spec=SimpleNamespace(name="kt"),
                                 runners={"kt_counters": runner}, reactors={})
        ok, body = await readiness(cast(Kernel, kernel), max_lag=1000)
        assert not ok and body["status"] == "not_ready"
        assert f"paused at sequence {reset_seq}" in body["reasons"][0] and "too new" in body["reasons"][0]
    finally:
        await runner.stop()

    # The consumer's new version (knows the type, handles it) is deployed: it goes on from there.
    upgraded = EventStore(nc, registry(CounterReset))
    NewerCounters.resets = 0
    runner = ProjectionRunner(engine, upgraded, NewerCounters(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        assert runner.paused is None and runner.lag()["paused"] is None
        assert NewerCounters.resets == 1 and runner.dead_letters == 0
        assert CONSUMER_PAUSED.labels("kt", "kt_counters")._value.get() == 0
        with engine.connect() as conn:
            assert total_increments(conn) == 2
    finally:
        await runner.stop()


@pytest.mark.dead_letters_expected
async def test_garbage_and_invalid_known_events_are_still_dead_lettered(nc: NATS, engine: Engine) -> None:
    store = EventStore(nc, registry())
    runner_cmds = CommandRunner(store)
    await runner_cmds.run(KEY, CommandContext(OFFICE, "open-c0-000"), lambda _l: [CounterOpened(title="计数")])
    other = AggregateKey("kt", "counter", "c9", "U0")  # (garbage in c0 would block commands on c0)
    await nc.jetstream().publish(other.subject("CounterIncremented"), b"{not json")
    bad = json.loads((await store.load(KEY)).events[0].to_wire_json())
    bad.update(event_type="CounterIncremented", schema_version=2, aggregate_id="c9",
               payload={"by": "many"})  # a known type, invalid
    await nc.jetstream().publish(other.subject("CounterIncremented"), json.dumps(bad).encode())
    last = (await runner_cmds.run(KEY, CommandContext(OFFICE, "inc-c0-0001"),
                                  lambda _l: [CounterIncremented(by=1)])).last_sequence
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        assert runner.dead_letters == 2 and runner.paused is None
    finally:
        await runner.stop()


class Seen(Reaction):
    name = "seen"
    subjects: ClassVar = (context_filter("kt"),)

    def __init__(self) -> None:
        self.types: list[str] = []

    async def react(self, kernel: Kernel, event: Envelope[DomainEvent]) -> None:
        self.types.append(event.event_type)


class FakeKernel:
    def __init__(self, store: EventStore, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self.spec = type("Spec", (), {"name": "kt"})()


async def test_a_reaction_pauses_too_and_continues_after_the_upgrade(nc: NATS, engine: Engine) -> None:
    _reset_seq, last = await produce(EventStore(nc, registry(CounterReset)))
    old = Seen()
    runner = ReactionRunner(FakeKernel(EventStore(nc, registry()), engine), old)  # type: ignore[arg-type]
    await runner.start()
    try:
        await until(lambda: runner.paused is not None)
        assert old.types == ["CounterOpened", "CounterIncremented"] and runner.dead_letters == 0
        assert runner.status()["paused"] is not None
    finally:
        await runner.stop()
    new = Seen()
    runner = ReactionRunner(FakeKernel(EventStore(nc, registry(CounterReset)), engine), new)  # type: ignore[arg-type]
    await runner.start()
    try:
        await until(lambda: runner.position == last)
        assert new.types == ["CounterReset", "CounterIncremented"]  # from where the old one paused
        assert runner.paused is None and await dead_letters(nc) == 0
    finally:
        await runner.stop()



class OnlyOpened(Projection):
    """Reads one event type of the context it follows: the runner decodes nothing else."""

    name = "kt_only_opened"
    version = 1
    subjects = (context_filter("kt"),)
    metadata = CounterProjection.metadata
    opened = 0

    @Projection.handles(CounterOpened)
    def _opened(self, conn: Connection, event: Envelope[Any]) -> None:
        OnlyOpened.opened += 1


async def test_events_a_projection_does_not_handle_are_passed_over_undecoded(nc: NATS, engine: Engine) -> None:
    _reset, last = await produce(EventStore(nc, registry(CounterReset)))
    store = EventStore(nc, registry(CounterReset))
    decoded: list[int] = []
    plain_decode = store.decode

    def counting(data: bytes, sequence: int, event_type: str | None = None) -> Envelope[DomainEvent]:
        decoded.append(sequence)
        return plain_decode(data, sequence, event_type)

    store.decode = counting  # type: ignore[method-assign]
    assert OnlyOpened.wanted_event_types() == frozenset({"CounterOpened"})
    assert CounterProjection.wanted_event_types() == frozenset({"CounterOpened", "CounterIncremented"})
    OnlyOpened.opened = 0
    runner = ProjectionRunner(engine, store, OnlyOpened(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        assert runner.position == last and OnlyOpened.opened == 1 and decoded == [1]
    finally:
        await runner.stop()
