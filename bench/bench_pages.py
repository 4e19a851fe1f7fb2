"""Page-load bench of the workbench with many problems (default 100,000).

    .venv/bin/python bench/bench_pages.py [--problems 100000] [--rounds 5] [--keep DIR]

1. starts the whole system (`ducha run`: nats-server, the four services, the workbench) on free ports
   in a temporary data folder;
2. creates the city, the round, teams and approved content through the services' HTTP APIs (the demo);
3. appends the problems' events directly through the kernel (CommandRunner, as the services would,
   with clocks set in the past so that deadlines are spread over the round: red, yellow, green);
4. waits until every service has caught up, then times the workbench's pages as the office, a team
   and a unit would load them (sequential requests, median and p95 of --rounds runs), and the
   service calls behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import nats
from ducha.contracts import registry
from ducha.contracts.base import Actor, Role
from ducha.contracts.common import EvidenceRef, FoundBy, Severity
from ducha.contracts.intake import IssueFedBack, IssueReported
from ducha.contracts.rectification import (
    DeadlineChange,
    DeadlineSet,
    ProgressReported,
    RectificationSubmitted,
)
from ducha.contracts.verification import Effectiveness, RectificationVerified
from ducha.kernel.calendar import city_today
from ducha.kernel.clock import ManualClock, SystemClock
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.errors import Conflict
from ducha.kernel.eventstore import DuplicateAppend, EventStore
from ducha.kernel.subjects import AggregateKey
from ducha_web import city, demo, devsystem
from ducha_web.auth import TokenMinter


def actor_unit(uid: str) -> Actor:
    return Actor(id=f"P1{uid}", name=city.PERSON_NAMES.get(f"P1{uid}", uid), role=Role.UNIT, unit_id=uid)


async def generate(nats_url: str, round_id: str, teams: list[demo.Team], n: int, seed: int,
                   chunk: int = 100, in_flight: int = 6) -> dict[str, float]:
    """Append n problems' events as the services would (each event with its actor, dated in the
    past), in atomic multi-aggregate batches of `chunk` problems (one fsync per batch instead of one
    per event: JetStream here syncs every write)."""
    rng = random.Random(seed)
    nc = await nats.connect(nats_url)
    store = EventStore(nc, registry)
    today = city_today(SystemClock())
    runners = {d: CommandRunner(store, ManualClock(datetime.combine(today - timedelta(days=d), datetime.min.time(),
                                                                     tzinfo=UTC) + timedelta(hours=2)), "bench")
               for d in range(22)}
    areas = city.FOCUS_AREAS
    # ---- plan every problem: (phase, actor, day) -> [(key, payloads)]
    groups: dict[tuple[int, str, int], list[tuple[AggregateKey, list[Any]]]] = {}
    actors: dict[str, Actor] = {}

    def add(phase: int, actor: Actor, day: int, key: AggregateKey, payloads: list[Any]) -> None:
        actors[actor.id + (actor.team_id or "")] = actor
        groups.setdefault((phase, actor.id + (actor.team_id or ""), day), []).append((key, payloads))

    for i in range(n):
        team = teams[i % len(teams)]
        unit = team.units[rng.randrange(len(team.units))]
        area = areas[i % len(areas)]
        reporter = team.members[i % len(team.members)]
        pid = uuid.uuid4().hex
        age = rng.randint(5, 20)
        severity = Severity.SEVERE if i % 13 == 0 else (Severity.SERIOUS if i % 4 == 0 else Severity.GENERAL)
        title, desc = demo.PROBLEM_TEMPLATES[area][i % len(demo.PROBLEM_TEMPLATES[area])]
        place = demo.PLACES[i % len(demo.PLACES)]
        intake: list[Any] = [IssueReported(
            round_id=round_id, team_id=team.id, content_id=team.contents[area],
            title=title.format(place=place, n=i % 50 + 3), description=desc.format(place=place, n=7),
            category=area, severity=severity, location=place, found_on=today - timedelta(days=age + 1),
            found_by=FoundBy.ON_SITE, publishable=i % 3 == 0)]
        fed = i % 12 != 0
        fed_on = today - timedelta(days=age - 1)
        if fed:
            intake.append(IssueFedBack(
                responsible_person="负责人", requirements="按期整改", commit_deadline_by=fed_on + timedelta(days=3),
                max_deadline=fed_on + timedelta(days=30 if severity == Severity.SEVERE else 90),
                fed_back_at=datetime.combine(fed_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)))
        add(0, reporter, age, AggregateKey("intake", "problem", pid, unit), intake)
        if not fed or i % 12 == 1:
            continue
        r = rng.random()
        deadline = (today - timedelta(days=rng.randint(1, 4)) if r < 0.15 else
                    today + timedelta(days=rng.randint(0, 3)) if r < 0.25 else
                    today + timedelta(days=rng.randint(4, 25)))
        rect: list[Any] = [DeadlineSet(deadline=deadline, change=DeadlineChange.COMMITTED, plan="专班推进")]
        if i % 3:
            rect.append(ProgressReported(percent=50, text="推进中"))
        submitted = r >= 0.25 and i % 5 in (0, 1)
        if submitted:
            rect.append(RectificationSubmitted(
                submission_no=1, description="已完成整改", evidence=(EvidenceRef(ref="文号123", name="整改报告"),)))
        day = max(0, age - 3)
        add(1, actor_unit(unit), day, AggregateKey("rectification", "problem", pid, unit), rect)
        if submitted and i % 5 == 0:
            add(2, reporter, max(0, day - 1), AggregateKey("verification", "problem", pid, unit),
                [RectificationVerified(submission_no=1, effectiveness=Effectiveness.GOOD, assessment="到位")])

    counts = {"problems": n, "events": 0, "batches": 0}
    started = time.monotonic()
    sem = asyncio.Semaphore(in_flight)

    async def append(actor: Actor, day: int, items: list[tuple[AggregateKey, list[Any]]]) -> None:
        decided = dict(items)
        async with sem:
            try:
                await runners[day].run_multi([k for k, _ in items], CommandContext(actor=actor),
                                             lambda _loaded: decided)
            except Conflict as exc:
                # an append acknowledged too late on a loaded machine, retried: JetStream's
                # deduplication says the same atomic batch is stored (all of it or nothing)
                if not isinstance(exc.__cause__, DuplicateAppend):
                    raise
        counts["events"] += sum(len(p) for _k, p in items)
        counts["batches"] += 1

    for phase in (0, 1, 2):  # intake first, then rectification, then verification (as in real life)
        jobs = []
        for (ph, who, day), items in groups.items():
            if ph != phase:
                continue
            for j in range(0, len(items), chunk):
                jobs.append(append(actors[who], day, items[j:j + chunk]))
        for j in range(0, len(jobs), 200):
            await asyncio.gather(*jobs[j:j + 200])
            rate = counts["events"] / (time.monotonic() - started)
            print(f"  phase {phase}: {counts['events']:,} events in {counts['batches']:,} batches "
                  f"({rate:,.0f} events/s)", flush=True)
    await nc.drain()
    return {"problems": counts["problems"], "events": counts["events"],
            "append_seconds": round(time.monotonic() - started, 1)}


def make(data: Path, problems: int, seed: int, base_port: int | None) -> dict[str, Any]:
    """The city through the services' APIs, then the problems' events appended through the kernel
    with the services stopped (they catch up when the system starts again); kept in `data` with
    bench.json, so that `--reuse` times the pages on the same log."""
    from ducha.kernel.eventstore import LoadedAggregate
    from ducha.kernel.natsserver import NatsServer

    print(f"starting the system in {data} for the city and the round ...", flush=True)
    system = devsystem.start(data, base_port=base_port)
    try:
        round_id, teams = asyncio.run(demo.setup(system.settings()))
    finally:
        system.stop()

    # Every aggregate the generator writes is new: skip the kernel's load (one subject-filtered
    # lookup each); the server's expected-sequence check (0 = no event yet) still guards each append.
    async def new_aggregate(_store: EventStore, key: AggregateKey) -> LoadedAggregate:
        return LoadedAggregate(key, (), 0, None)

    EventStore.load = new_aggregate  # type: ignore[method-assign]
    server = NatsServer(store_dir=data / "jetstream", port=base_port + len(devsystem.SERVICES) if base_port else 0).start()
    try:
        print(f"generating {problems:,} problems through the kernel (services stopped) ...", flush=True)
        gen = asyncio.run(generate(server.url, round_id, teams, problems, seed, chunk=200, in_flight=4))
    finally:
        server.stop()
    gen = {"round_id": round_id, **gen}
    (data / "bench.json").write_text(json.dumps(gen))
    return gen


def wait_caught_up(system: devsystem.System, timeout: float = 1800) -> float:
    started = time.monotonic()
    deadline = started + timeout
    with httpx.Client(timeout=10) as c:
        for name in ("intake", "rectification", "verification", "notify", "web"):
            while time.monotonic() < deadline:
                try:
                    r = c.get(system.url(name) + "/ready")
                    if r.status_code == 200:
                        break
                    lag = sum(p.get("lag_events", 0) for p in r.json().get("projections", []))
                    print(f"  waiting for {name}: {lag:,} events to apply", flush=True)
                except httpx.HTTPError:
                    pass
                time.sleep(5)
    return round(time.monotonic() - started, 1)


def timed(client: httpx.Client, path: str, rounds: int) -> dict[str, Any]:
    times = []
    status: int | str = 0
    size = 0
    for _ in range(rounds):
        t = time.perf_counter()
        try:
            r = client.get(path)
            status, size = r.status_code, len(r.content)
        except httpx.TimeoutException:
            status = "timeout"
        times.append((time.perf_counter() - t) * 1000)
    first = times[0]
    times.sort()
    row = {"path": path, "status": status, "bytes": size, "first_ms": round(first, 1),
           "median_ms": round(statistics.median(times), 1),
           "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1), "max_ms": round(times[-1], 1)}
    print(f"  {row['status']} first {row['first_ms']:>9} ms, median {row['median_ms']:>9} ms  {path}", flush=True)
    return row


def web_pid(system: devsystem.System) -> int | None:
    """The workbench's process (`python -m ducha.kernel.serve web --port <its port>`)."""
    wanted = f"--port {system.ports['web']}"
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ducha.kernel.serve web" in cmd and wanted in cmd:
            return int(d.name)
    return None


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed_export(system: devsystem.System, client: httpx.Client, path: str) -> dict[str, Any]:
    """One export, streamed to nowhere, with the workbench's resident memory sampled meanwhile."""
    import threading

    pid = web_pid(system)
    before = rss_mb(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size, status, t = 0, 0, time.perf_counter()
    try:
        with client.stream("GET", path) as r:
            status = r.status_code
            for block in r.iter_bytes():
                size += len(block)
    finally:
        done.set()
        sampler.join()
    row = {"path": path, "status": status, "bytes": size, "first_ms": round((time.perf_counter() - t) * 1000, 1),
           "rss_before_mb": round(before, 1), "rss_peak_mb": round(peak[0], 1)}
    row["median_ms"] = row["p95_ms"] = row["max_ms"] = row["first_ms"]
    print(f"  {status} {row['first_ms']:>9} ms, {size / 1e6:.1f} MB, web RSS {before:.0f} -> peak {peak[0]:.0f} MB"
          f"  {path}", flush=True)
    return row


def deep_cursor(system: devsystem.System, token: str, depth: int) -> str | None:
    """The service's keyset cursor of the ledger page at `depth` rows (None: no cursor paging)."""
    seen, cursor = 0, None
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:
        while seen < depth:
            params: dict[str, Any] = {"limit": min(500, depth - seen)}
            if cursor:
                params["cursor"] = cursor
            body = c.get(system.url("rectification") + "/v1/ledger", params=params).json()
            if "next_cursor" not in body or not body["next_cursor"]:
                return None
            cursor, seen = body["next_cursor"], seen + len(body.get("items", []))
    return cursor


def bench_pages(system: devsystem.System, rounds: int, token: str = "", full_export: bool = False,
                ) -> list[dict[str, Any]]:
    results = []

    def signed_in(account: str) -> httpx.Client:
        c = httpx.Client(base_url=system.web, timeout=600, follow_redirects=True)
        c.post("/login", data={"account": account})
        return c

    office = signed_in("P0001")
    pid = None
    page = office.get("/ledger?light=red").text
    import re

    m = re.search(r'href="/problems/([0-9a-f]{32})"', page)
    if m:
        pid = m.group(1)
    paths = ["/dashboard", "/ledger", "/ledger?light=red", "/ledger?status=submitted&severity=severe",
             "/ledger?q=征地", "/ledger?page=1000", "/ledger?team_id=&unit_id=D01&light=yellow"]
    if pid:
        paths.append(f"/problems/{pid}")
    deep = deep_cursor(system, token, 50_000) if token else None
    if deep:  # the page at row 50,000 as the workbench's "next" links reach it
        paths.append("/ledger?" + urlencode({"cursor": deep, "page": 1001}))
    for path in paths:
        results.append({"who": "office", **timed(office, path, rounds)})
    results.append({"who": "office", **timed(office, "/ledger.xlsx?light=red&unit_id=D01", max(1, rounds // 2))})
    results.append({"who": "office", **timed_export(system, office, "/ledger.xlsx?light=red")})
    if full_export:
        results.append({"who": "office", **timed_export(system, office, "/ledger.xlsx")})
    team = signed_in("P0101")
    for path in ("/dashboard", "/ledger"):
        results.append({"who": "team", **timed(team, path, rounds)})
    unit = signed_in("P1D01")
    for path in ("/unit", "/ledger"):
        results.append({"who": "unit", **timed(unit, path, rounds)})
    return results


def bench_services(system: devsystem.System, token: str, round_id: str, rounds: int) -> list[dict[str, Any]]:
    out = []
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:
        for service, path in [("rectification", "/v1/ledger?limit=50"),
                              ("rectification", "/v1/ledger?limit=1&light=red"),
                              ("rectification", "/v1/ledger?limit=50&offset=50000"),
                              ("verification", f"/v1/figures?round_id={round_id}"),
                              ("verification", f"/v1/stats?by=round&round_id={round_id}"),
                              ("verification", f"/v1/stats?by=team&round_id={round_id}"),
                              ("verification", f"/v1/ranking?round_id={round_id}"),
                              ("intake", "/v1/rounds?limit=500")]:
            out.append({"who": service, **timed(c, system.url(service) + path, rounds)})
    return out


async def demo_teams(settings: Any, round_id: str) -> list[demo.Team]:
    """The demo's teams with their approved content, read back from intake."""
    from ducha_web.services import Services

    s = Services(settings.service_urls())
    token = TokenMinter(settings).mint(Actor(id="P0001", name="王志强", role=Role.OFFICE))
    try:
        teams = []
        items = (await s.get("intake", "/v1/teams", token, round_id=round_id, limit=500))["items"]
        contents = (await s.get("intake", "/v1/contents", token, round_id=round_id, status="approved",
                                limit=500))["items"]
        for t in items:
            full = await s.get("intake", f"/v1/teams/{t['id']}", token)
            members = [Actor(id=m, name=city.PERSON_NAMES.get(m, m), role=Role.TEAM, team_id=t["id"])
                       for m in t.get("member_ids") or []]
            team = demo.Team("", t["id"], t["name"], Actor(id=t["leader_id"], name=t.get("leader_name", ""),
                                                           role=Role.TEAM, team_id=t["id"], team_leader=True),
                             members, list(full.get("unit_ids") or []))
            team.contents = {c["focus_area"]: c["id"] for c in contents if c.get("team_id") == t["id"]}
            teams.append(team)
        return teams
    finally:
        await s.aclose()


def screenshot(system: devsystem.System, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        page = b.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.goto(system.web + "/login")
        page.click('button[data-account="P0001"]')
        page.wait_for_url("**/dashboard")
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        b.close()
    print(f"screenshot: {path}", flush=True)


def main() -> int:
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed loads per page")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", help="data folder to use and keep (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--demo", type=int, default=0,
                        help="also create this many problems through the HTTP APIs first (the demo)")
    parser.add_argument("--reuse", action="store_true", help="the --keep folder holds a generated system: "
                        "start it and time the pages only")
    parser.add_argument("--base-port", type=int, default=9600,
                        help="ports of the system: this one and the next five (0: free ports)")
    parser.add_argument("--full-export", action="store_true",
                        help="also export every row of the ledger (memory of the workbench sampled)")
    parser.add_argument("--screenshot", help="save a screenshot of the office dashboard here (Chromium)")
    args = parser.parse_args()
    data = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ducha-bench-")) / "data"
    base_port = args.base_port or None
    made = data / "bench.json"
    gen: dict[str, Any] = {}
    if not args.reuse and not args.demo:
        gen = make(data, args.problems, args.seed, base_port)
    elif args.reuse and made.exists():
        gen = {"reused": str(data), **json.loads(made.read_text())}
    print(f"starting the system in {data} ...", flush=True)
    system = devsystem.start(data, base_port=base_port)
    try:
        settings = system.settings()  # the bench signs demo accounts in
        if gen:
            round_id, teams = str(gen["round_id"]), []
        elif args.reuse:
            office_token = TokenMinter(settings).mint(Actor(id="P0001", name="王志强", role=Role.OFFICE))
            round_id = httpx.get(system.url("intake") + "/v1/rounds", headers={
                "Authorization": "Bearer " + office_token}).json()["items"][0]["id"]
            teams = []
        elif args.demo:
            devsystem.demo(system, args.demo)
            rounds = httpx.get(system.url("intake") + "/v1/rounds", headers={"Authorization": "Bearer " + TokenMinter(
                settings).mint(Actor(id="P0001", name="王志强", role=Role.OFFICE))}).json()["items"]
            round_id = rounds[0]["id"]
            teams = asyncio.run(demo_teams(settings, round_id))
        else:
            round_id, teams = asyncio.run(demo.setup(settings))
            print(f"generating {args.problems:,} problems through the kernel ...", flush=True)
            gen = asyncio.run(generate(system.nats_url, round_id, teams, args.problems, args.seed))
        print("waiting for the services to catch up ...", flush=True)
        gen["catch_up_seconds"] = wait_caught_up(system)
        token = TokenMinter(settings).mint(Actor(id="P0001", name="王志强", role=Role.OFFICE))
        if args.screenshot:
            screenshot(system, Path(args.screenshot))
        pages = bench_pages(system, args.rounds, token, args.full_export)
        calls = bench_services(system, token, round_id, args.rounds)
        report = {"generated": gen, "pages": pages, "service_calls": calls}
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            print(f"\n{gen}\n")
            print(f"{'who':<14}{'page / call':<58}{'status':>7}{'first ms':>10}{'median ms':>11}{'p95 ms':>9}"
                  f"{'KB':>8}")
            for row in pages + calls:
                path = row["path"].split(":", 2)[-1] if row["who"] not in ("office", "team", "unit") else row["path"]
                print(f"{row['who']:<14}{path[:57]:<58}{row['status']!s:>7}{row['first_ms']:>10}{row['median_ms']:>11}"
                      f"{row['p95_ms']:>9}{row['bytes'] / 1024:>8.0f}")
        return 0
    finally:
        system.stop()


if __name__ == "__main__":
    sys.exit(main())
