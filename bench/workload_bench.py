"""A city's workload through the real services, then replay of every projection from the log.

    .venv/bin/python bench/workload_bench.py --problems 2000 [--postgres]

Prints commands/s through the HTTP APIs (in-process ASGI, three services, one pinned nats-server),
then per projection: events replayed, seconds, events/s, and whether replay equals live.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from ducha.audit.replay import Scratch, replay_service
from ducha.cli import service_specs
from ducha.kernel.clock import ManualClock
from ducha.kernel.identity import generate_keys
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import LOCAL_POSTGRES, run_service
from ducha.testing.workload import run_workload


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help=f"projections on {LOCAL_POSTGRES}")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ducha-workload-"))
    server = NatsServer(store_dir=tmp / "js").start()
    keys = generate_keys()
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    specs = service_specs()
    names = ["intake", "rectification", "verification"]
    try:
        async with AsyncExitStack() as stack:
            services = {}
            for name in names:
                db = (LOCAL_POSTGRES, f"bench_{name}_{int(time.time())}") if args.postgres else None
                services[name] = await stack.enter_async_context(
                    run_service(specs[name], server.url, tmp / name, keys, clock=clock, database=db))
            started = time.perf_counter()
            result = await run_workload(services, args.problems)
            seconds = time.perf_counter() - started
            print(f"workload: {result.problems} problems, {result.commands} commands in {seconds:.1f} s "
                  f"({result.commands / seconds:,.0f} commands/s), log at sequence {result.last_sequence}")
            print(f"stages: {result.by_stage}")
            print(f"{'projection':<32}{'events':>8}{'seconds':>9}{'events/s':>10}  replay = live")
            for name in names:
                kernel = services[name].kernel
                await kernel.wait_for(await kernel.store.last_sequence(), timeout=60)
                scratch = Scratch.like(kernel.settings.resolved_database_url(), f"{name}_bench", tmp / "scratch")
                try:
                    for s in await replay_service(specs[name], kernel.store, kernel.engine, scratch):
                        rate = s.events / s.seconds if s.seconds else 0
                        same = "yes" if not s.differences else f"NO ({len(s.differences)} tables differ)"
                        print(f"{name + '/' + s.projection:<32}{s.events:>8}{s.seconds:>9.2f}{rate:>10,.0f}  {same}")
                finally:
                    scratch.drop()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
