"""End to end on a real nats-server started with the department credentials Ducha generates:
notify writes DUCHA_DEPT, `ducha-subscriber run` (the CLI, as a department runs it) mirrors its
own unit's disclosed events into a database as a 整改台账 — nothing of another unit, nothing not
yet fed back, no redacted field — stops, resumes after more events without loss or duplicates,
and `ducha-subscriber status` says it is current. What arrives matches the AsyncAPI catalogue."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ducha.contracts import Actor, DomainEvent, Role
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.contracts.common import FoundBy, Severity, UnitKind
from ducha.kernel.commands import CommandContext
from ducha.kernel.db import make_engine
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.deptstream.catalogue import asyncapi_document
from ducha_notify.deptstream.stream import DEPT_STREAM
from ducha_notify.deptstream.tables import outbox
from ducha_notify.natsauth import (
    DepartmentUser,
    credentials_document,
    render_authorization,
    write_department_files,
)
from ducha_notify.settings import NotifySettings
from ducha_subscriber import Follower, build, cli, load
from ducha_subscriber.mirror import MirrorSink, engine_for
from sqlalchemy import func, select, text

OFFICE = Actor(id="office-1", name="办公室王五", role=Role.OFFICE)
VISITOR = Actor(id="p-t1", name="赵组长", role=Role.TEAM, team_id="T1")  # made the unannounced visit
UNIT1 = Actor(id="p-u1", name="张三", role=Role.UNIT, unit_id="U1")


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[NatsServer, str, dict[str, DepartmentUser]]]:
    depts = [DepartmentUser(f"unit-{u}", secrets.token_urlsafe(12), u, u) for u in ("U1", "U2")]
    service_pw = secrets.token_urlsafe(12)
    server = NatsServer(store_dir=tmp_path / "js", extra_config=render_authorization(service_pw, depts)).start()
    try:
        yield server, service_pw, {d.unit_id: d for d in depts}
    finally:
        server.stop()


def creds_file(directory: Path, service_pw: str, depts: dict[str, DepartmentUser], unit: str) -> Path:
    """The file the office hands the department (`natsauth --department-dir`)."""
    directory.mkdir()
    write_department_files(credentials_document(service_pw, list(depts.values())), directory)
    return directory / f"{unit}.creds"


@pytest.fixture
def mirror_url(database_url: tuple[str, str | None], tmp_path: Path) -> str:
    url, schema = database_url
    if schema is None:
        return f"sqlite:///{tmp_path / 'dept.db'}"
    with make_engine(url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def reported(title: str, found_by: FoundBy = FoundBy.ON_SITE) -> i.IssueReported:
    return i.IssueReported(round_id="R2", team_id="T1", content_id="C1", title=title, description="情况说明",
                           category="重大项目建设", severity=Severity.SEVERE, found_on=date(2026, 1, 6),
                           found_by=found_by, publishable=True)


FED_BACK = i.IssueFedBack(responsible_person="张副区长", commit_deadline_by=date(2026, 1, 9),
                          max_deadline=date(2026, 3, 31), fed_back_at=datetime(2026, 1, 6, 2, tzinfo=UTC))


def start_cli(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ducha_subscriber.cli", *args], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_department_mirrors_only_its_disclosed_events_and_resumes_without_loss_or_duplicates(
        secured: Any, tmp_path: Path, keys: KeyPair, mirror_url: str) -> None:
    server, service_pw, depts = secured
    service_url = server.url.replace("nats://", f"nats://ducha:{service_pw}@")
    settings = NotifySettings(webhook_key="subscriber-test-webhook-key-0123456789", poll_seconds=0.1, scan_interval_seconds=3600.0,
                              smtp_host="127.0.0.1")
    async with run_service(spec(settings), service_url, tmp_path / "notify", keys) as svc:
        async def emit(payload: DomainEvent, agg: str, unit: str | None, actor: Actor = OFFICE) -> None:
            key = AggregateKey(payload.context, payload.aggregate_type, agg, unit)
            await svc.kernel.commands.run(key, CommandContext(actor, uuid.uuid4().hex), lambda _l: [payload])

        js = svc.kernel.store.js

        async def stream_has_outbox() -> bool:
            await svc.kernel.catch_up()
            with svc.kernel.engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
            return bool(rows) and (await js.stream_info(DEPT_STREAM)).state.messages == rows

        async def sent_to(unit: str) -> list[Any]:
            """What DUCHA_DEPT holds for the unit (read with the service's rights)."""
            info = await js.stream_info(DEPT_STREAM)
            msgs = [await js.get_msg(DEPT_STREAM, seq=s) for s in range(1, info.state.last_seq + 1)]
            return [m for m in msgs if m.subject.startswith(f"ducha.dept.{unit}.")]

        for unit in ("U1", "U2"):
            await emit(i.UnitRegistered(name=f"{unit}单位", kind=UnitKind.DISTRICT), unit, unit)
        await emit(reported("暗访发现的问题", FoundBy.UNANNOUNCED), "P1", "U1", VISITOR)
        await emit(reported("未交办的问题"), "P2", "U1", VISITOR)
        await emit(reported("别的单位的问题"), "P3", "U2", VISITOR)
        await emit(FED_BACK, "P3", "U2", VISITOR)
        await emit(FED_BACK, "P1", "U1", VISITOR)
        await emit(r.DeadlineSet(deadline=date(2026, 3, 1), change=r.DeadlineChange.COMMITTED, plan="方案"),
                   "P1", "U1", UNIT1)
        await wait_for(stream_has_outbox, "DUCHA_DEPT to hold the outbox")

        creds = creds_file(tmp_path / "creds", service_pw, depts, "U1")
        common = ["--creds", str(creds), "--server", server.url, "--mirror", mirror_url]
        mirror = MirrorSink(engine_for(mirror_url), "dept-U1-1", "U1")

        async def mirrored(n: int) -> bool:
            try:
                return mirror.position().last_sequence > 0 and len(mirror.stored_events()) >= n
            except Exception:  # noqa: BLE001 - tables not created yet
                return False

        # first run in-process (the same FastStream application the CLI runs), stopped once current
        await asyncio.to_thread(mirror.create)
        follower = Follower("U1", mirror=mirror)
        _app, broker = build(load(creds), server.url, follower, fetch_timeout=1.0)
        async with broker:
            await broker.start()
            first = await sent_to("U1")
            await wait_for(lambda: mirrored(len(first)), "the first events in the mirror")
        assert follower.processed == len(first)

        # meanwhile: more events, for U1 and U2
        await emit(v.RectificationVerified(submission_no=1, effectiveness=v.Effectiveness.GOOD, assessment="整改到位",
                                           proposed_by="p-t2"), "P1", "U1", VISITOR)
        await emit(v.ProblemWrittenOff(round_id="R2", ledger_no=7, revisit_due_on=date(2026, 4, 1)), "P1", "U1")
        await emit(reported("第二个问题"), "P4", "U1", VISITOR)
        await emit(FED_BACK, "P4", "U1", VISITOR)
        await emit(r.DeadlineSet(deadline=date(2026, 2, 1), change=r.DeadlineChange.COMMITTED, plan="方案"),
                   "P3", "U2", Actor(id="p-u2", name="李四", role=Role.UNIT, unit_id="U2"))
        await wait_for(stream_has_outbox, "DUCHA_DEPT to hold the new outbox rows")
        everything = await sent_to("U1")
        assert len(everything) > len(first)

        # then the command a department runs: it continues where the first run stopped
        log = tmp_path / "run.log"
        proc = start_cli(["run", *common, "--progress-every", "0.2"], log)
        try:
            await wait_for(lambda: mirrored(len(everything)), "the rest in the mirror after a restart")

            async def says_current() -> bool:
                return "current:" in log.read_text()
            await wait_for(says_current, "the progress line saying current")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log.read_text()
        assert "catching up:" in log.read_text() or "current: 4 events handled" in log.read_text()

        stored = mirror.stored_events()
        # each DUCHA_DEPT message of U1 once, in order, nothing else
        assert [e["stream_sequence"] for e in stored] == [m.seq for m in everything]
        assert [e["data"] for e in stored] == [m.data.decode() for m in everything]
        events = [e["event"] for e in stored]
        assert {e["unit_id"] for e in events} == {"U1"}
        assert {e["aggregate_id"] for e in events} == {"U1", "P1", "P4"}  # not P2 (not fed back), not P3 (U2's)
        verified = next(e for e in events if e["event_type"] == "RectificationVerified")
        assert "proposed_by" not in verified["payload"] and verified["redacted"] == ["actor", "payload.proposed_by"]
        p1 = [e for e in events if e["aggregate_id"] == "P1"]  # an unannounced visit: the team, never the visitor
        assert "赵组长" not in json.dumps(p1, ensure_ascii=False) and all("actor" in e["redacted"] for e in p1)
        ledger = {row["problem_id"]: row for row in mirror.ledger_rows()}
        assert set(ledger) == {"P1", "P4"}
        assert ledger["P1"]["status"] == "written_off" and ledger["P1"]["status_label"] == "已销号"
        assert ledger["P1"]["ledger_no"] == 7 and ledger["P1"]["deadline"] == date(2026, 3, 1)
        assert ledger["P4"]["status"] == "fed_back" and ledger["P4"]["responsible_person"] == "张副区长"
        assert ledger["P1"]["title"] == "暗访发现的问题" and ledger["P1"]["found_by"] == "unannounced"

        # what is sent is what the AsyncAPI catalogue describes
        doc = asyncapi_document()
        schemas = doc["components"]["schemas"]
        for m, event in zip(everything, events, strict=True):
            channel = doc["channels"][event["event_type"]]
            assert m.subject == channel["address"].replace("{department}", "U1")
            ref = doc["components"]["messages"][channel["messages"]["Message"]["$ref"].rsplit("/", 1)[1]]["payload"]["$ref"]
            schema = {**schemas[ref.rsplit("/", 1)[1]], "components": {"schemas": schemas}}
            jsonschema.validate(event, schema)

        out = io.StringIO()
        assert await cli.status(cli._parser().parse_args(["status", *common, "--json"]), out) == 0
        report = json.loads(out.getvalue())
        assert report["current"] is True and report["mirror_sequence"] == stored[-1]["stream_sequence"]

        # a mirror restored from an old backup (here: an empty one) is refused rather than left with a hole,
        # until Ducha moves the consumer back to what the mirror holds
        fresh = ["--creds", str(creds), "--server", server.url, "--mirror", f"sqlite:///{tmp_path / 'restored.db'}"]
        out = io.StringIO()
        assert await cli.run(cli._parser().parse_args(["run", *fresh]), out) == 4
        assert "/v1/departments/U1/consumers/dept-U1-1/reset" in out.getvalue() and '"from_sequence": 1' in out.getvalue()
        resp = await svc.client.post("/v1/departments/U1/consumers/dept-U1-1/reset", json={"from_sequence": 1},
                                     headers=svc.headers(UNIT1))
        assert resp.status_code == 200, resp.text
        out = io.StringIO()
        assert await cli.status(cli._parser().parse_args(["status", *fresh, "--json"]), out) == 1
        assert json.loads(out.getvalue())["pending"] == len(everything)  # all of it will be fetched again
