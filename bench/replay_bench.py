"""Replay speed of every projection (the services' and the workbench's) from an existing log.

    .venv/bin/python bench/replay_bench.py --nats nats://127.0.0.1:4222 [--postgres] [--only rectification]
    .venv/bin/python bench/replay_bench.py --store DATA/jetstream      # starts a nats-server on that store

Each projection is built from sequence 1 up to the log's last sequence into a fresh scratch database
(SQLite file, or a scratch schema in PostgreSQL with --postgres), the way `ducha rebuild` and
`ducha audit as-of` build them. Prints events applied, seconds, events/s and this process's CPU time
per event (steadier than rates on a loaded machine) per projection; `--profile
FILE` writes a cProfile of the whole run. Make a big log first, e.g. with
`bench/bench_pages.py --problems 30000 --keep DIR` (DIR/jetstream is then the store).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from ducha.audit.replay import Progress, Scratch, build
from ducha.cli import service_specs
from ducha.contracts import registry
from ducha.kernel.eventstore import EventStore
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.projection import Projection
from ducha.testing.plugin import LOCAL_POSTGRES
from sqlalchemy import MetaData


class NoOp(Projection):
    """Reads and decodes every event and writes nothing: the follower's own ceiling on this log."""

    name, version, metadata = "noop", 1, MetaData()
    subjects = ("ducha.ev.>",)

    def apply_batch(self, conn: Any, events: Any) -> None:
        pass


def all_projections() -> list[tuple[str, Projection]]:
    out: list[tuple[str, Projection]] = [("kernel", NoOp())]
    out += [(name, p) for name, spec in service_specs().items() for p in spec.projections()]
    try:
        from ducha_web.trend import TrendProjection

        if not any(isinstance(p, TrendProjection) for _s, p in out):
            out.append(("web", TrendProjection()))
    except ImportError:  # the workbench is not installed
        pass
    return out


async def run(nats_url: str, postgres: bool, only: list[str], progress: bool) -> list[dict[str, Any]]:
    nc = await nats.connect(nats_url)
    store = EventStore(nc, registry)
    last = await store.last_sequence()
    folder = Path(tempfile.mkdtemp(prefix="ducha-replay-bench-"))
    rows = []
    try:
        for service, projection in all_projections():
            if (only and service not in only and projection.name not in only) or (
                    not only and projection.name == NoOp.name):
                continue
            scratch = Scratch.like(LOCAL_POSTGRES if postgres else "sqlite:///x.db",
                                   f"bench_{projection.name}", folder)
            cpu = time.process_time()
            try:
                events, seconds = await build(scratch.engine, store, projection, service, last,
                                              Progress() if progress else None, f"{service}/{projection.name}")
            finally:
                cpu = time.process_time() - cpu
                scratch.drop()
            row = {"service": service, "projection": projection.name, "events": events,
                   "seconds": round(seconds, 2), "events_per_second": round(events / seconds) if seconds else 0,
                   "cpu_us_per_event": round(cpu / events * 1e6, 1) if events else 0}
            print(f"{service + '/' + projection.name:<40}{events:>9,}{seconds:>9.2f} s"
                  f"{row['events_per_second']:>9,} events/s{row['cpu_us_per_event']:>8} µs CPU/event", flush=True)
            rows.append(row)
    finally:
        await nc.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--nats", help="URL of a running nats-server holding the log")
    where.add_argument("--store", help="a JetStream store folder: start a nats-server on it")
    parser.add_argument("--postgres", action="store_true", help=f"scratch databases in {LOCAL_POSTGRES}")
    parser.add_argument("--only", action="append", default=[],
                        help="service or projection name (repeatable); 'noop': read and decode only")
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server = None
    url = args.nats
    if args.store:
        server = NatsServer(store_dir=Path(args.store)).start()
        url = server.url
    prof = cProfile.Profile() if args.profile else None
    try:
        started = time.perf_counter()
        if prof:
            prof.enable()
        rows = asyncio.run(run(url, args.postgres, args.only, args.progress))
        if prof:
            prof.disable()
            prof.dump_stats(args.profile)
        total = sum(r["events"] for r in rows)
        print(f"all projections: {total:,} events in {time.perf_counter() - started:.1f} s")
        if args.json:
            print(json.dumps(rows))
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
