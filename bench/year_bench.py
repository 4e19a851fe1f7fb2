"""A city's year: `ducha rebuild all` and `ducha audit as-of` over a log of ~1,000,000 events.

    # once: the demo city and round through the services' APIs, then N problems' events appended
    # through the kernel (no services consuming meanwhile); ~3.6 events per problem
    .venv/bin/python bench/year_bench.py make --dir DIR [--problems 280000]
    # time the operator's commands on that log, each as the operator would type it
    .venv/bin/python bench/year_bench.py measure --dir DIR [--service rectification ...]

`measure` starts a nats-server on DIR/jetstream, then runs `ducha rebuild <service>` for every
service (the command an operator runs after a projection change; its progress bar goes to the
terminal) and `ducha audit as-of <service> --at <now>` (a fresh SQLite database of the service's
projections as of a time), and prints wall time and events per second for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nats

sys.path.insert(0, str(Path(__file__).parent))
from bench_pages import generate  # the page bench's generator: one copy of it

REPO = Path(__file__).resolve().parent.parent
DUCHA = str(REPO / ".venv" / "bin" / "ducha")


def make(data: Path, problems: int, seed: int) -> None:
    from ducha.kernel.natsserver import NatsServer
    from ducha_web import demo, devsystem
    from ducha_web.settings import load_settings

    data.mkdir(parents=True, exist_ok=True)
    print(f"starting the system in {data} for the demo city ...", flush=True)
    system = devsystem.start(data)
    try:
        os.environ.update({k: v for k, v in system.env.items() if k.startswith("DUCHA_")})
        round_id, teams = asyncio.run(demo.setup(load_settings(auth="demo")))
    finally:
        system.stop()
    # The services are stopped while the bulk is appended: what is timed later is the rebuild.
    # Every aggregate the generator writes is new, so its first load is skipped (one subject-
    # filtered lookup per aggregate, which timed out at this size); the server's expected-sequence
    # check (0 = no event yet) still guards each append. A retry (an append the server stored but
    # did not acknowledge in time) loads for real, so the kernel sees its own events and stops.
    from ducha.kernel.eventstore import EventStore, LoadedAggregate
    from ducha.kernel.subjects import AggregateKey

    real_load = EventStore.load
    seen: set[str] = set()

    async def new_aggregate(store: EventStore, key: AggregateKey) -> LoadedAggregate:
        if key.filter in seen:
            return await real_load(store, key)
        seen.add(key.filter)
        return LoadedAggregate(key, (), 0, None)

    EventStore.load = new_aggregate  # type: ignore[method-assign,assignment]
    # On a loaded machine a batch can stay unacknowledged past the kernel's budget; sending the
    # same command again is safe (same message ids; the reload finds the stored events).
    from ducha.kernel.commands import CommandRunner
    from ducha.kernel.eventstore import AppendUnacknowledged

    run_multi = CommandRunner.run_multi

    async def patient_run_multi(runner: CommandRunner, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(20):
            try:
                return await run_multi(runner, *args, **kwargs)
            except AppendUnacknowledged:
                print(f"  a batch unacknowledged in time; sending it again ({attempt + 1})", flush=True)
        return await run_multi(runner, *args, **kwargs)

    CommandRunner.run_multi = patient_run_multi  # type: ignore[method-assign,assignment]
    server = NatsServer(store_dir=data / "jetstream").start()
    try:
        print(f"appending {problems:,} problems' events through the kernel ...", flush=True)
        gen = asyncio.run(generate(server.url, round_id, teams, problems, seed))
        print(json.dumps(gen), flush=True)
        (data / "year.json").write_text(json.dumps({"round_id": round_id, **gen}))
    finally:
        server.stop()


async def log_size(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info("DUCHA_EVENTS")
        return int(info.state.messages)
    finally:
        await nc.close()


def timed_command(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(args, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return time.monotonic() - started, proc.stdout


def measure(data: Path, services: list[str], skip_as_of: bool) -> list[dict[str, Any]]:
    from ducha.kernel.natsserver import NatsServer

    server = NatsServer(store_dir=data / "jetstream").start()
    rows: list[dict[str, Any]] = []
    try:
        events = asyncio.run(log_size(server.url))
        print(f"log: {events:,} events", flush=True)
        env = {**os.environ, "DUCHA_DATA_DIR": str(data), "DUCHA_NATS_URL": server.url}
        names = services or ["intake", "rectification", "verification", "notify", "web"]
        for name in names:
            seconds, out = timed_command([DUCHA, "rebuild", name, "--nats", server.url], env)
            rows.append({"command": f"ducha rebuild {name}", "seconds": round(seconds, 1),
                         "log_events_per_s": round(events / seconds), "summary": out.strip()[-300:]})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        if not skip_as_of:
            for name in names:
                if name == "web":
                    continue
                out_dir = data / "as-of" / name
                seconds, out = timed_command([DUCHA, "audit", "as-of", name, "--at", "2099-01-01T00:00:00+08:00",
                                              "--out", str(out_dir), "--nats", server.url], env)
                rows.append({"command": f"ducha audit as-of {name}", "seconds": round(seconds, 1),
                             "log_events_per_s": round(events / seconds), "summary": out.strip()[-300:]})
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        total = sum(r["seconds"] for r in rows if r["command"].startswith("ducha rebuild"))
        print(f"\nlog {events:,} events; rebuild of every service {total:,.0f} s", flush=True)
        return rows
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--dir", required=True)
    mk.add_argument("--problems", type=int, default=280_000)
    mk.add_argument("--seed", type=int, default=13)
    ms = sub.add_parser("measure")
    ms.add_argument("--dir", required=True)
    ms.add_argument("--service", action="append", default=[])
    ms.add_argument("--skip-as-of", action="store_true")
    args = parser.parse_args()
    if args.command == "make":
        make(Path(args.dir), args.problems, args.seed)
    else:
        measure(Path(args.dir), args.service, args.skip_as_of)
    return 0


if __name__ == "__main__":
    sys.exit(main())
