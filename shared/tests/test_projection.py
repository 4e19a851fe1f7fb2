"""Projections apply each event exactly once, survive crashes, rebuild identically, dead-letter
what they cannot read and go on."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nats
import pytest
from ducha.contracts import Actor, Role
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.db import make_engine
from ducha.kernel.eventstore import EventStore
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.projection import ProjectionRunner, positions
from ducha.kernel.subjects import DLQ_STREAM, AggregateKey
from ducha.testing.plugin import drop_schema, fresh_database_url
from ducha.testing.sample import (
    CounterIncremented,
    CounterOpened,
    CounterProjection,
    counters,
    dump,
    total_increments,
)
from sqlalchemy import Engine, select

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)


async def seed(store: EventStore, counters_n: int, increments_each: int) -> int:
    runner = CommandRunner(store)
    for c in range(counters_n):
        key = AggregateKey("kt", "counter", f"c{c}", f"U{c % 4}")
        await runner.run(key, CommandContext(OFFICE, f"open-{c:05d}"), lambda _l, c=c: [CounterOpened(title=f"计数{c}")])
        for i in range(increments_each):
            await runner.run(
                key, CommandContext(OFFICE, f"inc-{c:05d}-{i:04d}"), lambda _l, i=i: [CounterIncremented(by=i + 1)]
            )
    return await store.last_sequence()


async def test_projection_catches_up_and_follows_live_appends(store: EventStore, engine: Engine) -> None:
    last = await seed(store, 5, 4)
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        with engine.connect() as conn:
            assert total_increments(conn) == 20
        res = await CommandRunner(store).run(
            AggregateKey("kt", "counter", "c0", "U0"), CommandContext(OFFICE, "inc-live-0001"),
            lambda _l: [CounterIncremented(by=100)],
        )
        assert await runner.wait_for(res.last_sequence, timeout=5)
        with engine.connect() as conn:
            total = conn.execute(select(counters.c.total).where(counters.c.id == "c0")).scalar_one()
        assert total == 1 + 2 + 3 + 4 + 100
    finally:
        await runner.stop()


async def test_wait_for_a_sequence_this_projection_does_not_follow_returns_at_once(
    store: EventStore, engine: Engine
) -> None:
    await seed(store, 1, 0)
    await store.js.publish("ducha.ev.other.U1.thing.t1.ThingHappened", b"{}")
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(await store.last_sequence(), timeout=2)
        assert not await runner.wait_for(await store.last_sequence() + 5, timeout=0.2)
    finally:
        await runner.stop()


async def test_rebuild_equals_live(store: EventStore, engine: Engine, tmp_path: Path) -> None:
    last = await seed(store, 8, 5)
    live = ProjectionRunner(engine, store, CounterProjection(), "kt", batch_max=7)
    await live.start()
    try:
        assert await live.wait_for(last, timeout=10)
        with engine.connect() as conn:
            before = dump(conn)
        await live.rebuild()
        assert await live.wait_for(last, timeout=10)
        with engine.connect() as conn:
            assert dump(conn) == before
    finally:
        await live.stop()
    # and into a separate, fresh database in one large batch
    url, schema = fresh_database_url(tmp_path, "rebuilt")
    other = make_engine(url, schema)
    try:
        rebuilt = ProjectionRunner(other, store, CounterProjection(), "kt", batch_max=1000)
        await rebuilt.start()
        assert await rebuilt.wait_for(last, timeout=10)
        await rebuilt.stop()
        with other.connect() as conn:
            assert dump(conn) == before
    finally:
        other.dispose()
        drop_schema(url, schema)


async def test_version_change_rebuilds_instead_of_migrating(store: EventStore, engine: Engine) -> None:
    last = await seed(store, 3, 2)
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await runner.start()
    assert await runner.wait_for(last, timeout=10)
    await runner.stop()

    class CounterProjectionV2(CounterProjection):
        version = 2

    v2 = ProjectionRunner(engine, store, CounterProjectionV2(), "kt")
    await v2.start()
    try:
        assert await v2.wait_for(last, timeout=10)
        with engine.connect() as conn:
            assert total_increments(conn) == 6  # not 12: replayed onto empty tables
            assert conn.execute(select(positions.c.version)).scalar_one() == 2
    finally:
        await v2.stop()


@pytest.mark.dead_letters_expected
async def test_malformed_message_is_dead_lettered_with_its_reason_and_the_runner_goes_on(
    store: EventStore, engine: Engine
) -> None:
    await seed(store, 1, 1)
    await store.js.publish("ducha.ev.kt.U0.counter.c0.CounterIncremented", b"{not json")
    good = {
        "event_id": "6f1c1b8e-2b8e-4d8b-9a53-0d0c9d1f0a02", "event_type": "CounterIncremented",
        "schema_version": 2, "context": "kt", "aggregate_type": "counter", "aggregate_id": "c0",
        "aggregate_version": 9, "unit_id": "U0", "actor": OFFICE.model_dump(mode="json"),
        "occurred_at": "2026-03-01T08:00:00Z", "command_id": "manual-0001", "correlation_id": "x",
        "payload": {"by": -5},  # readable, but the projection refuses it
    }
    await store.js.publish("ducha.ev.kt.U0.counter.c0.CounterIncremented", json.dumps(good).encode())
    last = await seed_more(store)
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        with engine.connect() as conn:
            assert total_increments(conn) == 2  # the seeded one and the one after the bad ones
        assert runner.dead_letters == 2
        sub = await store.js.subscribe("ducha.dlq.>", stream=DLQ_STREAM, ordered_consumer=True)
        reasons = []
        for _ in range(2):
            msg = await sub.next_msg(timeout=2)
            reasons.append((msg.headers["Ducha-Original-Sequence"], msg.headers["Ducha-Reason"]))
        assert reasons[0] == ("3", reasons[0][1]) and "not a Ducha event envelope" in reasons[0][1]
        assert reasons[1][0] == "4" and "never goes down" in reasons[1][1]
    finally:
        await runner.stop()


async def seed_more(store: EventStore) -> int:
    res = await CommandRunner(store).run(
        AggregateKey("kt", "counter", "c0", "U0"), CommandContext(OFFICE, "inc-after-bad"),
        lambda _l: [CounterIncremented(by=1)],
    )
    return res.last_sequence


async def test_two_instances_apply_each_event_once(store: EventStore, engine: Engine) -> None:
    last = await seed(store, 6, 6)
    a = ProjectionRunner(engine, store, CounterProjection(), "kt", batch_max=5)
    b = ProjectionRunner(engine, store, CounterProjection(), "kt", batch_max=3)
    await asyncio.gather(a.start(), b.start())
    try:
        assert await a.wait_for(last, timeout=15) and await b.wait_for(last, timeout=15)
        with engine.connect() as conn:
            assert total_increments(conn) == 36
    finally:
        await a.stop()
        await b.stop()


CRASHING_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    import nats
    from ducha.kernel.db import make_engine
    from ducha.kernel.eventstore import EventStore
    from ducha.kernel.projection import ProjectionRunner
    from ducha.testing.sample import CounterProjection, test_registry
    import ducha.kernel.projection as proj

    url, schema, nats_url, kill_after = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
    real_commit = ProjectionRunner._commit
    count = 0

    def commit_then_die(self, events, last):
        global count
        real_commit(self, events, last)
        count += 1
        if count == kill_after:
            os.kill(os.getpid(), 9)  # after the commit, before anything else: a crash

    ProjectionRunner._commit = commit_then_die

    async def main():
        nc = await nats.connect(nats_url)
        runner = ProjectionRunner(make_engine(url, schema), EventStore(nc, test_registry),
                                  CounterProjection(), "kt", batch_max=4)
        await runner.start()
        await asyncio.sleep(30)

    asyncio.run(main())
    """
)


async def test_projection_killed_between_commit_and_next_batch_neither_repeats_nor_skips(
    store: EventStore, nats_server: NatsServer, database_url: tuple[str, str | None], tmp_path: Path
) -> None:
    last = await seed(store, 4, 9)  # 40 events
    url, schema = database_url
    script = tmp_path / "child.py"
    script.write_text(CRASHING_CHILD)
    for kill_after in (2, 5):
        proc = subprocess.run(
            [sys.executable, str(script), url, schema or "", nats_server.url, str(kill_after)],
            timeout=60, capture_output=True,
        )
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    engine = make_engine(url, schema)
    try:
        with engine.connect() as conn:
            partial = total_increments(conn)
        assert 0 < partial < 36
        runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
        await runner.start()
        assert await runner.wait_for(last, timeout=10)
        await runner.stop()
        with engine.connect() as conn:
            assert total_increments(conn) == 36
            totals = [r.total for r in conn.execute(select(counters.c.total))]
        assert totals == [45, 45, 45, 45]
    finally:
        engine.dispose()


async def test_database_outage_is_retried_not_dead_lettered(store: EventStore, engine: Engine) -> None:
    last = await seed(store, 2, 2)
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt")
    real = runner._commit
    failures = {"left": 2}

    def flaky(events, last_seq):  # type: ignore[no-untyped-def]
        from sqlalchemy.exc import OperationalError

        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        real(events, last_seq)

    runner._commit = flaky  # type: ignore[method-assign]
    await runner.start()
    try:
        assert await runner.wait_for(last, timeout=10)
        assert runner.dead_letters == 0
        with engine.connect() as conn:
            assert total_increments(conn) == 4
    finally:
        await runner.stop()


del os, nats  # imported for the child script's documentation only


async def test_a_projection_can_be_built_as_of_a_log_sequence(store: EventStore, engine: Engine) -> None:
    await seed(store, 2, 3)  # sequences 1..8: c0 open,+1,+2,+3, c1 open,+1,+2,+3
    runner = ProjectionRunner(engine, store, CounterProjection(), "kt", until=6)
    await runner.start()
    try:
        assert await runner.wait_for(6, timeout=5)
        await asyncio.sleep(0.1)
        with engine.connect() as conn:
            totals = {r.id: r.total for r in conn.execute(select(counters.c.id, counters.c.total))}
        assert totals == {"c0": 6, "c1": 1}
    finally:
        await runner.stop()
