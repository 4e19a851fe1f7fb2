"""Replay equals live, a changed live row is named, and as-of builds (by sequence and by time),
with the sample CounterProjection on SQLite or PostgreSQL (DUCHA_TEST_DB)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from ducha.audit.replay import Progress, Scratch, as_of, replay_service, sequence_at
from ducha.contracts import Actor, Role
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import EventStore
from ducha.kernel.projection import ProjectionRunner
from ducha.kernel.service import ServiceSpec
from ducha.kernel.subjects import AggregateKey
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterProjection, counters, test_registry
from nats.aio.client import Client as NATS
from sqlalchemy import Engine, select, update

ACTOR = Actor(id="office-1", name="办公室", role=Role.OFFICE)
SPEC = ServiceSpec(name="kt", title="counters", default_port=8199, projections=lambda: [CounterProjection()])


async def add_counters(runner: CommandRunner, first: int, count: int, increments: int = 3) -> int:
    last = 0
    for c in range(first, first + count):
        key = AggregateKey("kt", "counter", f"c{c}", f"U{c % 3}")
        last = (await runner.run(key, CommandContext(ACTOR), lambda _l, c=c: [CounterOpened(title=f"计数{c}")])).last_sequence
        for i in range(increments):
            last = (await runner.run(key, CommandContext(ACTOR), lambda _l, i=i: [CounterIncremented(by=i + 1)])).last_sequence
    return last


async def test_replay_equals_live_and_names_differences(
    nc: NATS, engine: Engine, database_url: tuple[str, str | None], tmp_path: Path
) -> None:
    store = EventStore(nc, test_registry)
    runner = CommandRunner(store)
    last = await add_counters(runner, 0, 40)
    live = ProjectionRunner(engine, store, CounterProjection(), "kt")
    await live.start()
    assert await live.wait_for(last, timeout=20)
    await live.stop()

    scratch = Scratch.like(database_url[0], "kt", tmp_path)
    try:
        [summary] = await replay_service(SPEC, store, engine, scratch, Progress(None))
        assert summary.differences == [] and summary.events == 160 and summary.up_to_sequence == last
        assert summary.events_per_second > 0
    finally:
        scratch.drop()

    with engine.begin() as conn:  # someone edits the live projection by hand
        conn.execute(update(counters).where(counters.c.id == "c7").values(total=999))
    scratch = Scratch.like(database_url[0], "kt2", tmp_path)
    try:
        [summary] = await replay_service(SPEC, store, engine, scratch, Progress(None))
    finally:
        scratch.drop()
    [diff] = summary.differences
    assert diff["table"] == "kt_counters"
    assert [r[0] for r in diff["only_live"]] == ["c7"] and diff["only_live"][0][3] == "999"
    assert [r[0] for r in diff["only_replay"]] == ["c7"] and diff["only_replay"][0][3] == "6"


async def test_as_of_sequence_and_time(nc: NATS, database_url: tuple[str, str | None], tmp_path: Path) -> None:
    store = EventStore(nc, test_registry)
    runner = CommandRunner(store)
    first = await add_counters(runner, 0, 5)
    await asyncio.sleep(0.05)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await add_counters(runner, 5, 5, increments=5)
    assert await sequence_at(store, moment) == first
    assert await sequence_at(store, datetime(2000, 1, 1, tzinfo=UTC)) == 0

    for kwargs in ({"sequence": first}, {"at": moment}):
        scratch, target, [summary] = await as_of(SPEC, store, database_url[0], folder=tmp_path,
                                                 progress=Progress(None), **kwargs)  # type: ignore[arg-type]
        try:
            assert target == first and summary.events == 20
            with scratch.engine.connect() as conn:
                rows = conn.execute(select(counters.c.id, counters.c.total)).all()
            assert sorted(rows) == [(f"c{c}", 6) for c in range(5)]
        finally:
            scratch.drop()
