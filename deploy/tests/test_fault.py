"""Fault test of the production shape, without Docker.

A 3-node NATS JetStream cluster is started from deploy/nats's own config files (unchanged: each
node gets its name, ports and store directory from the environment, as in docker-compose), the
event streams are created with three replicas by the kernel's `ensure_streams`, and every service
runs twice as a separate process against the cluster and PostgreSQL (the settings production
uses: DUCHA_NATS_URL listing all three nodes, DUCHA_DATABASE_URL, DUCHA_STREAM_REPLICAS=3,
DUCHA_JWT_PUBLIC_KEY_FILE). A bounded load of commands goes to them over HTTP, failing over to the
other instance like a load balancer would, and resending with the same Idempotency-Key. During the
load the JetStream leader of the event stream is killed (SIGKILL), then one intake instance.

Shown afterwards:
- the load completed: every command was acknowledged;
- every acknowledged command's events are in the log exactly once (counted by command id), and
  every aggregate's versions run 1..n without gap or repeat;
- every projection of every service equals a rebuild from the log into a fresh schema, and the
  counters equal what the acknowledgements say;
- nothing was dead-lettered; the killed node rejoins and catches up;
- the recovery time: from a kill until commands succeed again.

Runs in the PostgreSQL pass of CI (DUCHA_TEST_DB=postgres), or with DUCHA_FAULT_TEST=1:

    DUCHA_TEST_DB=postgres .venv/bin/pytest deploy/tests/test_fault.py -s
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from ducha.contracts import Actor, Role
from ducha.kernel.db import make_engine
from ducha.kernel.eventstore import EventStore, ensure_streams
from ducha.kernel.http import scoped_command_id
from ducha.kernel.identity import TokenIssuer, generate_keys
from ducha.kernel.natsserver import free_port, nats_server_binary
from ducha.kernel.subjects import DLQ_STREAM, EVENT_STREAM
from ducha.testing.sample import test_registry
from sqlalchemy import MetaData, Table, select, text

ROOT = Path(__file__).resolve().parents[2]
NATS_CONF = ROOT / "deploy" / "nats" / "nats-server.conf"
LAUNCHER = Path(__file__).resolve().parent / "faultserve.py"
SERVICES = ("intake", "rectification", "verification", "notify")
INSTANCES = 2
PG_URL = os.environ.get("DUCHA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# The bounded load.
COUNTERS_PER_SERVICE = 8
INCREMENTS_PER_SERVICE = 150
UNITS = 40
UPDATES_PER_UNIT = 3
WORKERS = 24
COMMAND_DEADLINE = 45.0  # a command not acknowledged by then counts as not completed

pytestmark = pytest.mark.skipif(
    os.environ.get("DUCHA_TEST_DB", "sqlite").lower() != "postgres"
    and os.environ.get("DUCHA_FAULT_TEST") != "1",
    reason="the fault test runs against PostgreSQL: DUCHA_TEST_DB=postgres (CI's PostgreSQL pass) "
    "or DUCHA_FAULT_TEST=1",
)


# --------------------------------------------------------------------------- the NATS cluster
@dataclass
class Node:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def url(self, password: str) -> str:
        return f"nats://ducha:{password}@127.0.0.1:{self.client_port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=1
            ) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False


class Cluster:
    def __init__(self, base: Path, password: str) -> None:
        self.password = password
        self.nodes = [
            Node(f"n{i}", free_port(), free_port(), free_port(), base / f"n{i}" / "jetstream",
                 base / f"n{i}.log")
            for i in (1, 2, 3)
        ]

    def env(self, node: Node) -> dict[str, str]:
        routes = ", ".join(f"nats-route://127.0.0.1:{n.cluster_port}" for n in self.nodes)
        return {
            **os.environ,
            "NATS_SERVER_NAME": node.name,
            "NATS_HOST": "127.0.0.1",
            "NATS_CLIENT_PORT": str(node.client_port),
            "NATS_CLIENT_ADVERTISE": f"127.0.0.1:{node.client_port}",
            "NATS_CLUSTER_PORT": str(node.cluster_port),
            "NATS_ROUTES": f"[{routes}]",
            "NATS_MONITOR_PORT": str(node.monitor_port),
            "NATS_STORE_DIR": str(node.store_dir),
            "DUCHA_NATS_PASSWORD": self.password,
        }

    def start(self, node: Node) -> None:
        node.store_dir.mkdir(parents=True, exist_ok=True)
        log = open(node.log, "ab")
        # deploy/nats/nats-server.conf itself, unchanged (it includes ./auth.conf beside it).
        node.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(NATS_CONF)], env=self.env(node), stdout=log, stderr=log
        )

    def start_all(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            self.start(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while not node.healthy():
                assert node.proc is not None
                if node.proc.poll() is not None:
                    raise RuntimeError(f"{node.name} exited:\n{node.log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{node.name} not healthy:\n{node.log.read_text()[-3000:]}")
                time.sleep(0.1)

    def kill(self, node: Node) -> None:
        assert node.proc is not None
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        node.proc = None

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
                node.proc = None

    def urls(self, alive_only: bool = False) -> str:
        nodes = [n for n in self.nodes if not alive_only or n.proc is not None]
        return ",".join(n.url(self.password) for n in nodes)


# ------------------------------------------------------------------------------- the services
@dataclass
class Instance:
    service: str
    index: int
    port: int
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_instance(service: str, index: int, env: dict[str, str], tmp: Path) -> Instance:
    port = free_port()
    log = tmp / f"{service}-{index}.log"
    proc = subprocess.Popen(
        [sys.executable, str(LAUNCHER), service, "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "DUCHA_DATA_DIR": str(tmp / f"data-{service}-{index}")},
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=ROOT,
    )
    return Instance(service, index, port, log, proc)


def wait_healthy(instances: list[Instance], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(instances)
    while pending:
        inst = pending[0]
        if inst.proc.poll() is not None:
            raise RuntimeError(f"{inst.service}#{inst.index} exited:\n{inst.log.read_text()[-4000:]}")
        try:
            if httpx.get(inst.base + "/health", timeout=1).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{inst.service}#{inst.index} not healthy:\n{inst.log.read_text()[-4000:]}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------- the load
@dataclass
class Cmd:
    service: str
    method: str
    path: str
    body: dict[str, Any] | None
    aggregate: str  # "<aggregate_type>/<aggregate_id>"
    kind: str
    key: str = field(default_factory=lambda: "ft-" + uuid.uuid4().hex)
    acked_at: float | None = None
    attempts: int = 0
    error: str | None = None


@dataclass
class Attempt:
    service: str
    started: float
    ended: float
    ok: bool


class Driver:
    """Sends commands like a client behind a load balancer: on a connection error, a timeout or a
    5xx/409 it resends the same command (same Idempotency-Key) to the other instance."""

    def __init__(self, instances: dict[str, list[Instance]], token: str) -> None:
        self.instances = instances
        self.headers = {"Authorization": f"Bearer {token}"}
        self.attempts: list[Attempt] = []
        self.acked = 0

    async def send(self, client: httpx.AsyncClient, cmd: Cmd) -> None:
        deadline = time.monotonic() + COMMAND_DEADLINE
        i = random.randrange(INSTANCES)
        while time.monotonic() < deadline:
            inst = self.instances[cmd.service][i % INSTANCES]
            cmd.attempts += 1
            started = time.monotonic()
            try:
                resp = await client.request(
                    cmd.method, inst.base + cmd.path, json=cmd.body,
                    headers={**self.headers, "Idempotency-Key": cmd.key}, timeout=15.0,
                )
                status = resp.status_code
            except httpx.HTTPError as exc:
                status, resp = 0, None
                cmd.error = f"{type(exc).__name__}: {exc}"
            ok = 200 <= status < 300
            self.attempts.append(Attempt(cmd.service, started, time.monotonic(), ok))
            if ok:
                cmd.acked_at = time.monotonic()
                cmd.error = None
                self.acked += 1
                return
            if status and status not in (409, 500, 502, 503, 504):
                assert resp is not None
                cmd.error = f"HTTP {status}: {resp.text[:300]}"
                return  # a client error is a bug in the test or the service: no retry
            i += 1  # fail over to the other instance
            await asyncio.sleep(0.1)
        cmd.error = cmd.error or "deadline"

    async def run(self, client: httpx.AsyncClient, commands: list[Cmd], workers: int) -> None:
        queue: asyncio.Queue[Cmd] = asyncio.Queue()
        for cmd in commands:
            queue.put_nowait(cmd)

        async def worker() -> None:
            while not queue.empty():
                await self.send(client, queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(workers)))


def recovery_after(attempts: list[Attempt], kill_at: float, service: str | None = None) -> float | None:
    """Seconds from a kill until the first acknowledgement of a request sent after it."""
    done = [a.ended for a in attempts if a.ok and a.started >= kill_at and (service is None or a.service == service)]
    return round(min(done) - kill_at, 3) if done else None


def longest_stall(attempts: list[Attempt], since: float) -> float:
    acks = sorted(a.ended for a in attempts if a.ok and a.ended >= since)
    gaps = [b - a for a, b in zip([since, *acks], acks)]
    return round(max(gaps, default=0.0), 3)


# ----------------------------------------------------------------------------- verification
async def read_log(urls: list[str]) -> list[dict[str, Any]]:
    nc = await nats.connect(urls)
    try:
        store = EventStore(nc, test_registry)
        out = []
        async for seq, _subject, data in store.read_all():
            env = json.loads(data)
            env["_seq"] = seq
            out.append(env)
        return out
    finally:
        await nc.close()


def dump_table(engine: Any, schema: str, name: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        table = Table(name, MetaData(), autoload_with=conn, schema=schema)
        rows = conn.execute(select(table)).all()
    return sorted((tuple(r) for r in rows), key=repr)


def positions(engine: Any, schema: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT name, last_sequence FROM "{schema}".ducha_positions')).all()
    return {r[0]: int(r[1]) for r in rows}


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    actions: list[Any] = []
    yield actions
    for action in reversed(actions):
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - clean up as much as possible
            print(f"cleanup step failed: {exc!r}")


def test_cluster_survives_node_and_instance_loss(tmp_path: Path, cleanup: list[Any]) -> None:
    run = uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    t_begin = time.monotonic()

    # 1. the cluster, from deploy/nats's own files
    cluster = Cluster(tmp_path / "nats", password)
    cluster.start_all()
    cleanup.append(cluster.stop_all)

    async def make_streams() -> dict[str, Any]:
        nc = await nats.connect(cluster.urls().split(","))
        try:
            js = nc.jetstream()
            deadline = time.monotonic() + 30
            while True:  # the meta leader is elected a moment after the nodes are up
                try:
                    await ensure_streams(js, replicas=3)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.3)
            info = await js.stream_info(EVENT_STREAM)
            return {"replicas": info.config.num_replicas, "leader": info.cluster.leader,
                    "peers": sorted([info.cluster.leader] + [p.name for p in info.cluster.replicas or []])}
        finally:
            await nc.close()

    stream = asyncio.run(make_streams())
    assert stream["replicas"] == 3 and stream["peers"] == ["n1", "n2", "n3"], stream

    # 2. every service, two instances each, configured as in production
    keys = generate_keys()
    key_file = tmp_path / "issuer.pub.pem"
    key_file.write_bytes(keys.public_pem)
    schemas = {svc: f"ft_{run}_{svc}" for svc in SERVICES}
    env = {
        **os.environ,
        "DUCHA_NATS_URL": cluster.urls(),
        "DUCHA_DATABASE_URL": PG_URL,
        "DUCHA_STREAM_REPLICAS": "3",
        "DUCHA_JWT_PUBLIC_KEY_FILE": str(key_file),
        "DUCHA_LOG_FORMAT": "json",
        "DUCHA_NOTIFY_WEBHOOK_KEY": "fault-test-webhook-key-0123456789abcdef",
        **{f"DUCHA_{svc.upper()}_DATABASE_SCHEMA": schema for svc, schema in schemas.items()},
    }
    pg = make_engine(PG_URL)

    def drop_schemas() -> None:
        with pg.begin() as conn:
            for schema in [*schemas.values(), *(s + "_rb" for s in schemas.values())]:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        pg.dispose()

    cleanup.append(drop_schemas)
    instances: dict[str, list[Instance]] = {
        svc: [start_instance(svc, i, env, tmp_path) for i in range(INSTANCES)] for svc in SERVICES
    }

    def stop_instances() -> None:
        procs = [inst.proc for group in instances.values() for inst in group]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    cleanup.append(stop_instances)
    wait_healthy([inst for group in instances.values() for inst in group])
    started_in = time.monotonic() - t_begin

    # 3. the load: intake's own API (units) if it has one, and the probe on every service
    openapi = httpx.get(instances["intake"][0].base + "/openapi.json", timeout=5).json()
    intake_api = "post" in openapi.get("paths", {}).get("/v1/units", {})
    setup: list[Cmd] = []
    body: list[Cmd] = []
    counters: dict[str, list[str]] = {}
    for svc in SERVICES:
        counters[svc] = [f"ft{run}-{svc[:4]}-{i}" for i in range(COUNTERS_PER_SERVICE)]
        for cid in counters[svc]:
            setup.append(Cmd(svc, "POST", f"/faulttest/counters/{cid}", None, f"counter/{cid}", "open"))
        for _ in range(INCREMENTS_PER_SERVICE):
            cid = random.choice(counters[svc])  # shared by all workers: concurrent writers
            body.append(Cmd(svc, "POST", f"/faulttest/counters/{cid}/increment", None,
                            f"counter/{cid}", "increment"))
    units = [f"FT{run}U{i}" for i in range(UNITS)] if intake_api else []
    for uid in units:
        setup.append(Cmd("intake", "POST", "/v1/units", {"id": uid, "name": f"单位{uid}", "kind": "district"},
                         f"unit/{uid}", "register_unit"))
        for k in range(UPDATES_PER_UNIT):
            body.append(Cmd("intake", "PUT", f"/v1/units/{uid}",
                            {"name": f"单位{uid}第{k + 1}版", "kind": "district"}, f"unit/{uid}", "update_unit"))
    random.shuffle(body)
    commands = setup + body
    office = Actor(id="ft-office", name="督查办", role=Role.OFFICE)
    token = TokenIssuer(keys.private_pem).issue(office)
    driver = Driver(instances, token)
    kills: dict[str, Any] = {}

    async def leader() -> str:
        nc = await nats.connect(cluster.urls(alive_only=True).split(","))
        try:
            return str((await nc.jetstream().stream_info(EVENT_STREAM)).cluster.leader)
        finally:
            await nc.close()

    async def chaos() -> None:
        total = len(body)
        base = driver.acked
        while driver.acked - base < total * 0.25:
            await asyncio.sleep(0.01)
        name = await leader()
        node = next(n for n in cluster.nodes if n.name == name)
        kills["nats_at"] = time.monotonic()
        cluster.kill(node)  # SIGKILL the event stream's leader
        kills["nats_node"] = name
        kills["acked_before_nats_kill"] = driver.acked
        while driver.acked - base < total * 0.5:
            await asyncio.sleep(0.01)
        victim = instances["intake"][0]
        kills["instance_at"] = time.monotonic()
        victim.proc.send_signal(signal.SIGKILL)
        kills["instance"] = f"intake#{victim.index}"
        kills["acked_before_instance_kill"] = driver.acked

    async def drive() -> float:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as client:
            await driver.run(client, setup, WORKERS)  # create what the load then changes
            assert all(c.acked_at for c in setup), [c.error for c in setup if not c.acked_at][:5]
            t0 = time.monotonic()
            await asyncio.gather(driver.run(client, body, WORKERS), chaos())
            return time.monotonic() - t0

    load_seconds = asyncio.run(drive())

    # 4. the load completed
    failed = [c for c in commands if c.acked_at is None]
    assert not failed, [(c.kind, c.error) for c in failed[:10]]

    survivors = cluster.urls(alive_only=True).split(",")
    log = asyncio.run(read_log(survivors))
    # The stored command id of an Idempotency-Key counts for the sender's scope and the command.
    key_of = {scoped_command_id(office, c.method, c.path, c.key): c.key for c in commands}
    ours = [e for e in log if (e.get("actor") or {}).get("id") == office.id]

    # 5. every acknowledged command's events are in the log exactly once
    by_command = Counter(key_of.get(e["command_id"], e["command_id"]) for e in ours)
    losses = [c for c in commands if by_command.get(c.key, 0) == 0]
    duplicates = [c for c in commands if by_command.get(c.key, 0) > 1]
    strangers = set(by_command) - {c.key for c in commands}
    versions: dict[str, list[int]] = defaultdict(list)
    for e in ours:
        versions[f"{e['aggregate_type']}/{e['aggregate_id']}"].append(e["aggregate_version"])
    broken = {agg: v for agg, v in versions.items() if sorted(v) != list(range(1, len(v) + 1))}

    # 6. every projection equals a rebuild from the log; counters equal the acknowledgements
    rebuild_env = {**env, "DUCHA_NATS_URL": ",".join(survivors)}
    mismatches: list[str] = []
    compared = 0
    for svc in SERVICES:
        schema = schemas[svc]
        out = subprocess.run(
            [sys.executable, str(LAUNCHER), svc, "--rebuild-into", schema + "_rb"],
            env=rebuild_env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        tables = json.loads(out.stdout.strip().splitlines()[-1])["tables"]
        target = positions(pg, schema + "_rb")
        deadline = time.monotonic() + 30
        while any(positions(pg, schema).get(p, 0) < seq for p, seq in target.items()):
            assert time.monotonic() < deadline, (svc, positions(pg, schema), target)
            time.sleep(0.2)
        for projection, names in tables.items():
            for name in names:
                compared += 1
                if dump_table(pg, schema, name) != dump_table(pg, schema + "_rb", name):
                    mismatches.append(f"{svc}.{projection}.{name}")
        expected = Counter(c.aggregate.split("/")[1] for c in body if c.kind == "increment")
        live = {row[0]: row[4] for row in dump_table(pg, schema, "kt_counters") if row[0].startswith(f"ft{run}-")}
        want = {cid: expected.get(cid, 0) for svcs in counters.values() for cid in svcs}
        if live != want:
            mismatches.append(f"{svc}.kt_counters != acknowledged increments")

    # 7. nothing dead-lettered; the killed node rejoins and catches up
    async def after() -> dict[str, Any]:
        node = next(n for n in cluster.nodes if n.name == kills["nats_node"])
        t0 = time.monotonic()
        cluster.start(node)
        nc = await nats.connect(survivors)
        try:
            js = nc.jetstream()
            while True:
                info = await js.stream_info(EVENT_STREAM)
                peers = {p.name: p for p in info.cluster.replicas or []}
                if node.name == info.cluster.leader or (node.name in peers and peers[node.name].current):
                    break
                assert time.monotonic() - t0 < 30, info.cluster
                await asyncio.sleep(0.2)
            dlq = await js.stream_info(DLQ_STREAM)
            return {"rejoin_seconds": round(time.monotonic() - t0, 3), "dead_letters": dlq.state.messages,
                    "log_events": info.state.messages}
        finally:
            await nc.close()

    rejoin = asyncio.run(after())

    figures = {
        "services": f"{len(SERVICES)} x {INSTANCES} instances",
        "intake_api_used": intake_api,
        "commands": len(commands),
        "acknowledged": sum(1 for c in commands if c.acked_at),
        "http_attempts": len(driver.attempts),
        "losses": len(losses),
        "duplicates": len(duplicates),
        "events_of_the_load": len(ours),
        "aggregates_checked": len(versions),
        "projection_tables_compared": compared,
        "projection_mismatches": len(mismatches),
        "dead_letters": rejoin["dead_letters"],
        "killed_nats_node": f"{kills['nats_node']} (stream leader) after {kills['acked_before_nats_kill']} acks",
        "killed_instance": f"{kills['instance']} after {kills['acked_before_instance_kill']} acks",
        "recovery_seconds_nats_kill": recovery_after(driver.attempts, kills["nats_at"]),
        "longest_stall_after_nats_kill": longest_stall(driver.attempts, kills["nats_at"]),
        "recovery_seconds_instance_kill": recovery_after(driver.attempts, kills["instance_at"], "intake"),
        "rejoin_seconds": rejoin["rejoin_seconds"],
        "load_seconds": round(load_seconds, 2),
        "startup_seconds": round(started_in, 2),
        "total_seconds": round(time.monotonic() - t_begin, 2),
    }
    print("\nFAULT TEST FIGURES " + json.dumps(figures, ensure_ascii=False, indent=2))
    assert not losses, [(c.kind, c.key) for c in losses[:10]]
    assert not duplicates, [(c.kind, c.key, by_command[c.key]) for c in duplicates[:10]]
    assert not strangers, sorted(strangers)[:10]
    assert not broken, dict(list(broken.items())[:5])
    assert not mismatches, mismatches
    assert rejoin["dead_letters"] == 0
    assert figures["recovery_seconds_nats_kill"] is not None
    assert figures["recovery_seconds_instance_kill"] is not None
