"""The projection runner's own ceiling: catch-up of a projection that writes nothing.

    .venv/bin/python bench/runner_ceiling.py --events 100000 --port 9150 [--profile out.prof]

Seeds a fresh log (kept in --dir, reused when it already holds the events, so runs before and after
a change read the same log), then measures in one process, same minute:
  - raw: nats-py's ordered push consumer with a callback doing nothing (the client's limit);
  - runner: `ProjectionRunner` catch-up with a no-op projection (reading, checking, decoding,
    batching, one position write per batch on SQLite): what any projection can at best reach.
Figures are events/s, this process's CPU time per event (steadier than rates on a loaded machine)
and the runner/raw ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from ducha.kernel.db import make_engine, sqlite_url
from ducha.kernel.eventstore import EventStore, ensure_streams, subscribe_ordered
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.projection import Projection, ProjectionRunner
from ducha.kernel.subjects import EVENT_STREAM, context_filter
from ducha.testing.sample import counter_metadata, test_registry
from sqlalchemy import MetaData

sys_path_bench = Path(__file__).resolve().parent


class NoOp(Projection):
    name = "noop"
    version = 1
    subjects = (context_filter("kt"),)
    metadata = MetaData()

    def apply_batch(self, conn: Any, events: Any) -> None:
        pass


async def raw_consume(nc: Any, n: int) -> tuple[float, float]:
    js = nc.jetstream()
    done = asyncio.Event()
    count = 0

    async def cb(_msg: Any) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    start, cpu = time.perf_counter(), time.process_time()
    sub = await subscribe_ordered(js, EVENT_STREAM, [context_filter("kt")], 1, cb)
    await done.wait()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await sub.unsubscribe()
    return n / seconds, cpu / n * 1e6


async def runner_catch_up(store: EventStore, tmp: Path, run: int) -> tuple[float, float]:
    engine = make_engine(sqlite_url(tmp / f"noop-{run}-{time.time_ns()}.db"), None)
    runner = ProjectionRunner(engine, store, NoOp(), "bench")
    start, cpu = time.perf_counter(), time.process_time()
    await runner.start()
    await runner.catch_up()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await runner.stop()
    engine.dispose()
    return runner.position / seconds, cpu / runner.position * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=9150)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ducha-runner-ceiling")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of one runner catch-up")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    server = NatsServer(store_dir=args.dir / f"js-{args.events}", port=args.port).start()
    try:
        nc = await nats.connect(server.url)
        await ensure_streams(nc.jetstream())
        store = EventStore(nc, test_registry)
        if await store.last_sequence() < args.events:
            import sys

            sys.path.insert(0, str(sys_path_bench))
            from kernel_bench import seed_for_catch_up  # type: ignore[import-not-found]

            await seed_for_catch_up(nc, args.events - await store.last_sequence())
        _ = counter_metadata
        for run in range(args.runs):
            raw, raw_cpu = await raw_consume(nc, args.events)
            rate, cpu = await runner_catch_up(store, args.dir, run)
            print(f"run {run + 1}: raw ordered consume {raw:7.0f}/s ({raw_cpu:5.1f} µs CPU/event)   "
                  f"runner no-op catch-up {rate:7.0f}/s ({cpu:5.1f} µs CPU/event)   "
                  f"ratio {rate / raw:.2f}", flush=True)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await runner_catch_up(store, args.dir, 99)
            profiler.disable()
            profiler.dump_stats(str(args.profile))
            print(f"profile written to {args.profile}")
        await nc.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
