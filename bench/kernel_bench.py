"""Kernel benchmark: Ducha's appends and projection catch-up beside raw nats-py on the same server.

    ./dev.sh bench                      # all figures, SQLite and PostgreSQL (if reachable)
    ./dev.sh bench --events 50000 --no-postgres

Starts its own pinned nats-server (file storage, sync_interval: always) in a temporary folder.
Prints a table and, with --json, machine-readable figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from ducha.contracts import Actor, DomainEvent, Envelope, Role
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.db import make_engine, sqlite_url
from ducha.kernel.eventstore import EventStore, ensure_streams, subscribe_ordered
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.projection import ProjectionRunner
from ducha.kernel.subjects import EVENT_STREAM, AggregateKey
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterProjection, test_registry
from nats.aio.client import Client as NATS
from sqlalchemy import text

ACTOR = Actor(id="bench", name="基准", role=Role.OFFICE)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def envelope(key: AggregateKey, version: int, payload: DomainEvent, command_id: str) -> Envelope[DomainEvent]:
    return Envelope[DomainEvent](
        event_id=uuid.uuid4(), event_type=payload.event_type, schema_version=payload.schema_version,
        context=key.context, aggregate_type=key.aggregate_type, aggregate_id=key.aggregate_id,
        aggregate_version=version, unit_id=key.unit_id, actor=ACTOR, occurred_at=datetime.now(UTC),
        command_id=command_id, correlation_id=command_id, payload=payload,
    )


async def timed(n: int, fn: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await fn()
    return n / (time.perf_counter() - start)


# --------------------------------------------------------------------- raw nats-py
async def raw_publish_each(nc: NATS, n: int) -> float:
    js = nc.jetstream()
    body = b'{"x":' + b"1" * 180 + b"}"

    async def run() -> None:
        for i in range(n):
            await js.publish(f"ducha.ev.raw.U1.x.a{i}.Raw", body, headers={"Nats-Msg-Id": f"raw-each-{i}"})

    return await timed(n, run)


async def raw_publish_async(nc: NATS, n: int, in_flight: int = 4000) -> float:
    js = nc.jetstream(publish_async_max_pending=in_flight)
    body = b'{"x":' + b"1" * 180 + b"}"

    async def run() -> None:
        futures = []
        for i in range(n):
            futures.append(
                await js.publish_async(f"ducha.ev.raw.U2.x.b{i}.Raw", body, headers={"Nats-Msg-Id": f"raw-async-{i}"})
            )
        await asyncio.gather(*futures)

    return await timed(n, run)


async def raw_consume(nc: NATS, n: int) -> float:
    js = nc.jetstream()
    done = asyncio.Event()
    count = 0

    async def cb(_msg: Any) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    start = time.perf_counter()
    sub = await subscribe_ordered(js, EVENT_STREAM, ["ducha.ev.>"], 1, cb)
    await done.wait()
    rate = n / (time.perf_counter() - start)
    await sub.unsubscribe()
    return rate


# -------------------------------------------------------------------------- kernel
async def kernel_single_writer(store: EventStore, n: int) -> float:
    async def run() -> None:
        last = 0
        key = AggregateKey("kt", "counter", "single", "U9")
        for i in range(n):
            payload: DomainEvent = CounterOpened(title="单写") if i == 0 else CounterIncremented(by=1)
            res = await store.append(key, [envelope(key, i + 1, payload, f"single-{i:07d}")], last)
            last = res.last_sequence

    return await timed(n, run)


async def kernel_concurrent_appends(store: EventStore, n: int, concurrency: int = 1000) -> float:
    keys = [AggregateKey("kt", "counter", f"ca{i}", f"U{i % 50}") for i in range(n)]
    envs = [[envelope(k, 1, CounterOpened(title="并发"), f"conc-{i:07d}")] for i, k in enumerate(keys)]
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await store.append(keys[i], envs[i], 0)

    async def run() -> None:
        await asyncio.gather(*(one(i) for i in range(n)))

    return await timed(n, run)


async def kernel_concurrent_commands(store: EventStore, n: int, concurrency: int = 500) -> float:
    runner = CommandRunner(store)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await runner.run(
                AggregateKey("kt", "counter", f"cc{i}", f"U{i % 50}"),
                CommandContext(ACTOR, f"cmd-{i:08d}"),
                lambda _l: [CounterOpened(title="命令")],
            )

    async def run() -> None:
        await asyncio.gather(*(one(i) for i in range(n)))

    return await timed(n, run)


async def seed_for_catch_up(nc: NATS, n: int, per_counter: int = 10) -> None:
    js = nc.jetstream(publish_async_max_pending=4000)
    futures = []
    for i in range(n):
        c, v = divmod(i, per_counter)
        key = AggregateKey("kt", "counter", f"p{c}", f"U{c % 50}")
        payload: DomainEvent = CounterOpened(title=f"计数{c}") if v == 0 else CounterIncremented(by=v)
        env = envelope(key, v + 1, payload, f"seed-{i:08d}")
        futures.append(await js.publish_async(key.subject(payload.event_type), env.to_wire_json()))
    await asyncio.gather(*futures)


async def catch_up(store: EventStore, url: str, schema: str | None, batched: bool) -> tuple[float, int]:
    engine = make_engine(url, schema)
    projection = BatchedCounterProjection() if batched else CounterProjection()
    runner = ProjectionRunner(engine, store, projection, "bench")
    start = time.perf_counter()
    await runner.start()
    await runner.catch_up()
    seconds = time.perf_counter() - start
    await runner.stop()
    applied = runner.applied
    if schema:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    return applied / seconds, applied


class BatchedCounterProjection(CounterProjection):
    """Same tables as CounterProjection, applied with one statement per kind per batch."""

    name = "kt_counters_batched"

    def apply_batch(self, conn: Any, events: Any) -> None:
        from ducha.testing.sample import counters
        from sqlalchemy import bindparam, update

        opened = [e for e in events if isinstance(e.payload, CounterOpened)]
        if opened:
            conn.execute(counters.insert(), [
                {"id": e.aggregate_id, "unit_id": e.unit_id, "title": e.payload.title, "total": 0,
                 "increments": 0, "last_sequence": e.sequence} for e in opened
            ])
        sums: dict[str, list[int]] = {}
        for e in events:
            if isinstance(e.payload, CounterIncremented):
                s = sums.setdefault(e.aggregate_id, [0, 0, 0])
                s[0] += e.payload.by
                s[1] += 1
                s[2] = e.sequence
        if sums:
            conn.execute(
                update(counters).where(counters.c.id == bindparam("cid")).values(
                    total=counters.c.total + bindparam("add"),
                    increments=counters.c.increments + bindparam("cnt"),
                    last_sequence=bindparam("seq"),
                ),
                [{"cid": k, "add": v[0], "cnt": v[1], "seq": v[2]} for k, v in sums.items()],
            )


def pg_available() -> bool:
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - optional
        return False


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000, help="events for catch-up")
    parser.add_argument("--appends", type=int, default=20_000, help="appends for concurrent runs")
    parser.add_argument("--single", type=int, default=3_000, help="appends for single-writer runs")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ducha-bench-"))
    server = NatsServer(store_dir=tmp / "js").start()
    results: dict[str, Any] = {"events_catch_up": args.events}
    try:
        nc = await nats.connect(server.url)
        await ensure_streams(nc.jetstream())
        store = EventStore(nc, test_registry)
        results["raw_publish_each_ack"] = await raw_publish_each(nc, args.single)
        results["kernel_append_single_writer"] = await kernel_single_writer(store, args.single)
        results["raw_publish_async"] = await raw_publish_async(nc, args.appends)
        results["kernel_append_concurrent"] = await kernel_concurrent_appends(store, args.appends)
        results["kernel_commands_concurrent"] = await kernel_concurrent_commands(store, args.appends // 2)
        await nc.close()

        # catch-up on a fresh server holding only the projection's events
        server.stop()
        server = NatsServer(store_dir=tmp / "js2").start()
        nc = await nats.connect(server.url)
        await ensure_streams(nc.jetstream())
        store = EventStore(nc, test_registry)
        await seed_for_catch_up(nc, args.events)
        results["raw_consume_ordered"] = await raw_consume(nc, args.events)
        for batched in (False, True):
            label = "batched" if batched else "per_event"
            rate, _ = await catch_up(store, sqlite_url(tmp / f"bench-{label}.db"), None, batched)
            results[f"catch_up_sqlite_{label}"] = rate
            if not args.no_postgres and pg_available():
                rate, _ = await catch_up(store, PG_URL, f"bench_{uuid.uuid4().hex[:8]}", batched)
                results[f"catch_up_postgres_{label}"] = rate
        await nc.close()
    finally:
        server.stop()

    raw_async = results["raw_publish_async"]
    raw_consume_rate = results["raw_consume_ordered"]
    print(f"{'figure':<38}{'per second':>12}  vs raw")
    rows = [
        ("raw nats-py publish, await each ack", "raw_publish_each_ack", None),
        ("Ducha append, single writer", "kernel_append_single_writer", "raw_publish_each_ack"),
        ("raw nats-py publish_async (4000 in flight)", "raw_publish_async", None),
        ("Ducha append, concurrent (1000)", "kernel_append_concurrent", "raw_publish_async"),
        ("Ducha command (load+decide+append), conc.", "kernel_commands_concurrent", "raw_publish_async"),
        ("raw nats-py ordered consume", "raw_consume_ordered", None),
        ("catch-up SQLite, per-event apply", "catch_up_sqlite_per_event", "raw_consume_ordered"),
        ("catch-up SQLite, batched apply", "catch_up_sqlite_batched", "raw_consume_ordered"),
        ("catch-up PostgreSQL, per-event apply", "catch_up_postgres_per_event", "raw_consume_ordered"),
        ("catch-up PostgreSQL, batched apply", "catch_up_postgres_batched", "raw_consume_ordered"),
    ]
    for label, k, base in rows:
        if k not in results:
            continue
        ratio = f"{100 * results[k] / results[base]:5.0f}%" if base else ""
        print(f"{label:<44}{results[k]:>10,.0f}  {ratio}")
    del raw_async, raw_consume_rate
    if args.json:
        print(json.dumps({k: round(v) if isinstance(v, float) else v for k, v in results.items()}))


if __name__ == "__main__":
    asyncio.run(main())
