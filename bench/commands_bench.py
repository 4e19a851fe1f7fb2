"""Commands as deployed: every service in its own process (`ducha run`), the problem life driven over
real HTTP by many concurrent clients.

    .venv/bin/python bench/commands_bench.py [--problems 2000] [--concurrency 32] [--postgres]

`--rate R` offers R commands/s on a schedule (open loop) instead of as fast as the answers come, to read
the latency at a given load (the issue's "p99 at half the target rate"). Reports commands/s, p50/p99 latency per command type, read-your-writes (a problem reported to intake
until rectification's query shows it, sampled on every 5th problem, asked with the report's
`min_sequence` as a client reads its own write), how
long until every service's projections have caught up after the last command, and each service's
resident memory. Uses the same problem life as `services/e2e/test_replay_equals_live.py`
(`ducha.testing.workload`): 8 stages from reported to revisit, ~5 commands per problem.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from ducha.contracts import Actor
from ducha.kernel.identity import TokenIssuer, ensure_local_keys
from ducha.testing import workload
from ducha.testing.plugin import LOCAL_POSTGRES
from ducha_web import devsystem

SERVICES = ("intake", "rectification", "verification", "notify", "audit", "web")
_today = date.today()
# The workload's dates (written for a test clock in March 2026), moved to the services' real today.
TODAY_DATES = {"2026-03-01": str(_today - timedelta(days=1)), "2026-03-08": str(_today + timedelta(days=7)),
               "2026-03-02": str(_today), "2026-03-31": str(_today + timedelta(days=28))}


class HttpHarness:
    """What `ducha.testing.workload` drives: an HTTP client and signed tokens, here for a real
    service process."""

    def __init__(self, base_url: str, issuer: TokenIssuer, limits: httpx.Limits) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)
        self.issuer = issuer
        self._tokens: dict[str, str] = {}

    def headers(self, who: Actor, **extra: str) -> dict[str, str]:
        key = who.model_dump_json()
        token = self._tokens.get(key)
        if token is None:
            token = self._tokens[key] = self.issuer.issue(who)
        return {"Authorization": f"Bearer {token}", **extra}


class TimedDriver(workload.Driver):
    """The workload's driver, timing each command by type and sampling read-your-writes."""

    def __init__(self, services: dict[str, Any], rectification: HttpHarness) -> None:
        super().__init__(services)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.ryw: list[float] = []
        self.rect = rectification
        self._tasks: list[asyncio.Task[None]] = []

    async def post(self, service: str, who: Actor, path: str, body: Any = None, after: int = 0) -> dict[str, Any]:
        if isinstance(body, dict):
            body = {k: TODAY_DATES.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        kind = path.rstrip("/").rsplit("/", 1)[-1]
        kind = f"{service}:{'report' if kind == 'problems' else kind}"
        started = time.perf_counter()
        data = await super().post(service, who, path, body, after)
        done = time.perf_counter()
        self.latency[kind].append((done - started) * 1000)
        if kind in ("intake:problems", "intake:report") and self.result.problems % 5 == 0:
            self._tasks.append(asyncio.create_task(self._visible(data["id"], int(data["sequence"]), who, done)))
        return data

    async def _visible(self, pid: str, sequence: int, who: Actor, since: float) -> None:
        """As a client reads its own write: the query names the command's sequence and the service
        answers once its projection has applied it (no polling load on the service)."""
        for _ in range(200):
            try:
                r = await self.rect.client.get(f"/v1/problems/{pid}", params={"min_sequence": sequence},
                                               headers=self.rect.headers(who))
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                self.ryw.append((time.perf_counter() - since) * 1000)
                return
            await asyncio.sleep(0.01)

    async def settle(self) -> None:
        await asyncio.gather(*self._tasks)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def service_pids(root_pid: int) -> dict[str, list[int]]:
    """The processes under `ducha run`, by the service each serves (from its command line)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines() if line.strip()]
    children: dict[int, list[list[str]]] = defaultdict(list)
    for r in rows:
        children[int(r[1])].append(r)
    found: dict[str, list[int]] = defaultdict(list)
    stack = [root_pid]
    while stack:
        for r in children.get(stack.pop(), []):
            stack.append(int(r[0]))
            args = r[3] if len(r) > 3 else ""
            tokens = args.split()
            name = (tokens[tokens.index("ducha.kernel.serve") + 1] if "ducha.kernel.serve" in tokens[:-1]
                    else None)
            if "nats-server" in args:
                name = "nats-server"
            if name:
                found[name].append(int(r[0]))
    return dict(found)


def _per_service(root_pid: int, value_of: Callable[[int], float]) -> dict[str, float]:
    return {name: sum(value_of(pid) for pid in pids) for name, pids in service_pids(root_pid).items()}


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def resident_mb(root_pid: int) -> dict[str, float]:
    return {name: round(mb, 1) for name, mb in _per_service(root_pid, _rss_mb).items()}


def _postgres_pids() -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,comm="], capture_output=True, text=True).stdout
    return [int(pid) for pid, _, comm in (line.strip().partition(" ") for line in out.splitlines())
            if comm.strip() == "postgres"]


def cpu_seconds(root_pid: int, postgres: bool = False) -> dict[str, float]:
    """CPU time (user + system) each service has used so far, this benchmark's own client and, with
    PostgreSQL, the whole database server (every backend, not only ours)."""
    me = os.times()
    out = {**_per_service(root_pid, _cpu_s), "benchmark client": me.user + me.system}
    if postgres:
        total = 0.0
        for pid in _postgres_pids():
            with contextlib.suppress(OSError):  # a backend that ended meanwhile
                total += _cpu_s(pid)
        out["postgresql"] = total
    return out


async def wait_caught_up(system: devsystem.System, timeout: float = 1200) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as c:
        for name in SERVICES:
            while time.perf_counter() - started < timeout:
                try:
                    if (await c.get(system.url(name) + "/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
    return time.perf_counter() - started


# commands per problem life in `ducha.testing.workload` (measured: 1,566 commands for 300 problems)
COMMANDS_PER_PROBLEM = 5.2


async def drive(system: devsystem.System, problems: int, concurrency: int, rate: float | None,
                postgres: bool = False) -> dict[str, Any]:
    assert system.proc is not None
    root = system.proc.pid
    keys = ensure_local_keys(system.data_dir / "keys")
    issuer = TokenIssuer(keys.private_pem)
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them under us
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2,
                          keepalive_expiry=2.0)
    services = {name: HttpHarness(system.url(name), issuer, limits)
                for name in ("intake", "rectification", "verification")}
    d = TimedDriver(services, services["rectification"])
    try:
        random.seed(7)  # the workload draws categories and severities from the global generator
        _round, slots = await workload.plan_city(d, 12)
        after = d.result.last_sequence
        d.latency.clear()
        commands_before = d.result.commands
        sem = asyncio.Semaphore(concurrency)

        cpu_before = cpu_seconds(root, postgres)
        started = time.perf_counter()

        async def go(n: int) -> None:
            unit, unit_actor, member, content = slots[n % len(slots)]
            if rate:  # open loop: problem n starts on its schedule, however slow the answers are
                await asyncio.sleep(max(0.0, started + n * COMMANDS_PER_PROBLEM / rate - time.perf_counter()))
            async with sem:
                await workload.one_problem(d, n, workload.STAGES[n % len(workload.STAGES)], unit, unit_actor,
                                           member, content, after)

        await asyncio.gather(*(go(n) for n in range(problems)))
        seconds = time.perf_counter() - started
        cpu_after = cpu_seconds(root, postgres)
        await d.settle()
        caught_up = await wait_caught_up(system)
        commands = d.result.commands - commands_before
    finally:
        for h in services.values():
            await h.client.aclose()
    return {
        "problems": problems, "commands": commands, "seconds": round(seconds, 1),
        "commands_per_second": round(commands / seconds, 1), "concurrency": concurrency,
        "offered_rate": rate,
        "latency_ms": {k: {"n": len(v), "p50": round(statistics.median(v), 1), "p99": round(pct(v, 0.99), 1)}
                       for k, v in sorted(d.latency.items())},
        "read_your_writes_ms": {"n": len(d.ryw), "p50": round(pct(d.ryw, 0.5), 1), "p99": round(pct(d.ryw, 0.99), 1)},
        "caught_up_after_last_command_s": round(caught_up, 2),
        "log_sequence": d.result.last_sequence,
        # where the machine's two cores went: CPU milliseconds per command, by process
        "cpu_ms_per_command": {k: round((cpu_after[k] - cpu_before.get(k, 0.0)) * 1000 / max(commands, 1), 2)
                               for k in sorted(cpu_after)},
    }


def main() -> int:
    # a benchmark stopped with SIGTERM stops the system it started too (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, help="offer this many commands/s (open loop; --concurrency "
                        "then only bounds the problems in flight) to read latency at a given load")
    parser.add_argument("--postgres", action="store_true", help=f"every service's projections in {LOCAL_POSTGRES}")
    parser.add_argument("--keep", help="data folder to use and keep (default: a temporary one)")
    args = parser.parse_args()
    data = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ducha-cmd-bench-")) / "data"
    extra = {}
    if args.postgres:
        tag = uuid.uuid4().hex[:6]
        for name in SERVICES:
            extra[f"DUCHA_{name.upper()}_DATABASE_URL"] = LOCAL_POSTGRES
            extra[f"DUCHA_{name.upper()}_DATABASE_SCHEMA"] = f"bench_{name}_{tag}"
    print(f"starting the system in {data} ...", flush=True)
    system = devsystem.start(data, extra)
    try:
        report = asyncio.run(drive(system, args.problems, args.concurrency, args.rate, args.postgres))
        assert system.proc is not None
        report["resident_mb"] = resident_mb(system.proc.pid)
        report["database"] = "postgresql" if args.postgres else "sqlite"
        print(json.dumps(report, ensure_ascii=False, indent=2))
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
