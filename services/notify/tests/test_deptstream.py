"""The department stream DUCHA_DEPT on a real nats-server with generated department credentials:
each department fetches only what the disclosure policy lets it see, redacted, in order, from its
own system-made consumers; it can neither create, change nor delete consumers (no takeover) nor
read DUCHA_EVENTS; a restart or a second publisher never writes a row twice."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from ducha.contracts import Actor, Role
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.contracts.common import FoundBy, Severity
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.deptstream.publisher import DeptPublisher
from ducha_notify.deptstream.stream import DEPT_STREAM, consumer_names, reset_consumer
from ducha_notify.natsauth import DepartmentUser, render_authorization

from .conftest import fast_settings, make_emit, seed_directory, wait_until  # type: ignore[import-not-found]

MEMBER = Actor(id="p-t1", name="赵组长", role=Role.TEAM, team_id="T1")
UNIT1 = Actor(id="p-u1", name="张三", role=Role.UNIT, unit_id="U1")


def reported(title: str, found_by: FoundBy = FoundBy.ON_SITE) -> i.IssueReported:
    return i.IssueReported(round_id="R2", team_id="T1", content_id="C1", title=title, description="情况说明",
                           category="重大项目建设", severity=Severity.SEVERE, found_on=date(2026, 1, 6),
                           found_by=found_by, publishable=True)


def fed_back() -> i.IssueFedBack:
    return i.IssueFedBack(responsible_person="张副区长", commit_deadline_by=date(2026, 1, 9),
                          max_deadline=date(2026, 3, 31), fed_back_at="2026-01-06T10:00:00Z")  # type: ignore[arg-type]


async def fetch_all(js: Any, consumer: str, inbox: str) -> list[Any]:
    """Everything pending on the consumer, acknowledged (asks the consumer how much is pending
    rather than fetching until a timeout, which leaves pull requests behind)."""
    sub = await js.pull_subscribe_bind(durable=consumer, stream=DEPT_STREAM, inbox_prefix=f"{inbox}.".encode())
    out: list[Any] = []
    while (pending := (await js.consumer_info(DEPT_STREAM, consumer)).num_pending) > 0:
        msgs = await sub.fetch(min(100, pending), timeout=10)
        for m in msgs:
            await m.ack_sync()
        out += msgs
    await sub.unsubscribe()
    return out


@pytest.fixture
def secured(tmp_path: Path) -> Any:
    depts = [DepartmentUser(f"{kind}-{d}", secrets.token_urlsafe(12), d, d)
             for kind, d in (("unit", "U1"), ("unit", "U2"), ("helper", "H1"))]
    service_pw = secrets.token_urlsafe(12)
    server = NatsServer(store_dir=tmp_path / "js", extra_config=render_authorization(service_pw, depts)).start()
    try:
        yield server, service_pw, {d.unit_id: d for d in depts}
    finally:
        server.stop()


async def test_departments_fetch_only_what_the_policy_discloses(secured: Any, tmp_path: Path, keys: KeyPair) -> None:
    server, service_pw, depts = secured
    service_url = server.url.replace("nats://", f"nats://ducha:{service_pw}@")
    async with run_service(spec(fast_settings()), service_url, tmp_path / "notify", keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await emit(i.HelperDepartmentRegistered(name="市住建局"), "H1", None)
        # P1: an unannounced visit, fed back, rectified with a helper, reviewed in two steps
        await emit(reported("暗访发现问题", FoundBy.UNANNOUNCED), "P1", "U1", MEMBER)
        await emit(i.IssueAmended(reason="补充", title="暗访发现问题（更正）"), "P1", "U1", MEMBER)
        await emit(reported("未交办的问题"), "P2", "U1", MEMBER)           # never fed back
        await emit(reported("别的单位的问题"), "P3", "U2", MEMBER)
        await emit(fed_back(), "P3", "U2", MEMBER)
        await emit(fed_back(), "P1", "U1", MEMBER)
        await emit(r.DeadlineSet(deadline=date(2026, 3, 1), change=r.DeadlineChange.COMMITTED, plan="方案"),
                   "P1", "U1", UNIT1)
        await emit(r.HelpRequested(help_id="h1", difficulty="缺资金"), "P1", "U1", UNIT1)
        await emit(r.HelperAssigned(help_id="h1", helper_id="H1", helper_name="市住建局"), "P1", "U1")
        await emit(v.ReviewProposed(submission_no=1, outcome=v.ReviewOutcome.ACCEPT, effectiveness=v.Effectiveness.GOOD,
                                    assessment="好"), "P1", "U1", MEMBER)
        await emit(v.RectificationVerified(submission_no=1, effectiveness=v.Effectiveness.GOOD, assessment="好",
                                           proposed_by="p-t2"), "P1", "U1", MEMBER)
        # P4: fed back, then withdrawn: the unit is told it went away, nothing more
        await emit(reported("撤回的问题"), "P4", "U1", MEMBER)
        await emit(fed_back(), "P4", "U1", MEMBER)
        await emit(i.IssueWithdrawn(reason="误报，内部原因"), "P4", "U1", MEMBER)
        await svc.kernel.catch_up()
        js = svc.kernel.store.js

        async def stream_holds_outbox() -> bool:
            from ducha_notify.deptstream.tables import outbox
            from sqlalchemy import func, select
            with svc.kernel.engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
            info = await js.stream_info(DEPT_STREAM)
            return bool(rows) and info.state.messages == rows

        await wait_until(stream_holds_outbox, timeout=20)

        u1 = depts["U1"]
        dept = await nats.connect(server.url, user=u1.user, password=u1.password, inbox_prefix=u1.inbox_prefix)
        djs = dept.jetstream(timeout=2.0)
        got = await fetch_all(djs, consumer_names("U1")[0], u1.inbox_prefix)
        events = [json.loads(m.data) for m in got]
        seen = [(e["aggregate_id"], e["event_type"]) for e in events]
        problem_events = [s for s in seen if s[0].startswith("P")]
        assert problem_events == [
            ("P1", "IssueReported"), ("P1", "IssueAmended"), ("P1", "IssueFedBack"), ("P1", "DeadlineSet"),
            ("P1", "HelpRequested"), ("P1", "HelperAssigned"), ("P1", "RectificationVerified"),
            ("P4", "IssueReported"), ("P4", "IssueFedBack"), ("P4", "IssueWithdrawn")], seen
        assert ("U1", "UnitRegistered") in seen and all(e.get("unit_id") in ("U1", None) for e in events)
        by = {(e["aggregate_id"], e["event_type"]): e for e in events}
        # the team, not the person who made the unannounced visit
        assert by[("P1", "IssueReported")]["actor"] == {"id": "T1", "name": "督查组", "role": "team", "unit_id": None,
                                                        "team_id": "T1", "team_leader": False}
        assert "赵组长" not in json.dumps([e for e in events if e["aggregate_id"] == "P1"], ensure_ascii=False)
        assert "proposed_by" not in by[("P1", "RectificationVerified")]["payload"]
        assert by[("P4", "IssueWithdrawn")]["payload"] == {}
        for e in events:  # the public contract shape: no internal bookkeeping, the source sequence
            assert not {"command_id", "correlation_id", "causation_id", "prev_hash"} & set(e)
            assert e["sequence"] > 0 and isinstance(e["redacted"], list)
        assert [m.metadata.sequence.stream for m in got] == sorted(m.metadata.sequence.stream for m in got)

        # the helper: the problem it was assigned to, from the assignment on (plus the facts)
        h1 = depts["H1"]
        hc = await nats.connect(server.url, user=h1.user, password=h1.password, inbox_prefix=h1.inbox_prefix)
        helper_seen = [(json.loads(m.data)["aggregate_id"], json.loads(m.data)["event_type"])
                       for m in await fetch_all(hc.jetstream(timeout=2.0), consumer_names("H1")[0], h1.inbox_prefix)]
        assert helper_seen == [("P1", "IssueReported"), ("P1", "IssueAmended"), ("P1", "IssueFedBack"),
                               ("P1", "HelperAssigned"), ("P1", "RectificationVerified")], helper_seen
        await hc.close()

        # resumable: acknowledged events are not fetched again; new ones are
        await emit(r.ProgressReported(percent=50, text="过半"), "P1", "U1", UNIT1)
        await emit(reported("又一个未交办"), "P5", "U1", MEMBER)
        await svc.kernel.catch_up()
        await wait_until(stream_holds_outbox, timeout=20)
        more = [json.loads(m.data)["event_type"] for m in await fetch_all(djs, consumer_names("U1")[0], u1.inbox_prefix)]
        assert more == ["ProgressReported"]
        # ... and from a date or a sequence: the system re-creates the consumer (the department asks over HTTP)
        second = consumer_names("U1")[1]
        resp = await svc.client.post(f"/v1/departments/U1/consumers/{second}/reset", headers=svc.headers(UNIT1),
                                     json={"from_date": got[-1].metadata.timestamp.isoformat()})
        assert resp.status_code == 200, resp.text
        from_date = await fetch_all(djs, second, u1.inbox_prefix)
        assert [json.loads(m.data)["event_type"] for m in from_date][-1] == "ProgressReported"
        await reset_consumer(js, "U1", second, start_sequence=got[-1].metadata.sequence.stream)
        from_seq = await fetch_all(djs, second, u1.inbox_prefix)
        assert from_seq[0].metadata.sequence.stream == got[-1].metadata.sequence.stream
        other = await svc.client.post(f"/v1/departments/U2/consumers/{consumer_names('U2')[0]}/reset",
                                      headers=svc.headers(UNIT1), json={"from_sequence": 1})
        assert other.status_code == 403
        listed = await svc.client.get("/v1/departments/U1/consumers", headers=svc.headers(UNIT1))
        assert [c["name"] for c in listed.json()["consumers"]] == consumer_names("U1")

        # written once: a restarted and a second publisher find nothing to add
        before = (await js.stream_info(DEPT_STREAM)).state.messages
        assert await asyncio.gather(DeptPublisher(svc.kernel).publish_pending(),
                                    DeptPublisher(svc.kernel).publish_pending()) == [0, 0]
        assert (await js.stream_info(DEPT_STREAM)).state.messages == before
        # a publisher that remembers a stale end of the stream (another instance wrote since) is
        # refused by the expected-last-sequence check, reads the end again and writes nothing twice
        stale = DeptPublisher(svc.kernel)
        assert await stale.publish_pending() == 0
        await emit(reported("后来的问题"), "P5", "U1", MEMBER)
        await emit(fed_back(), "P5", "U1", MEMBER)
        await svc.kernel.catch_up()
        await wait_until(stream_holds_outbox, timeout=20)
        grown = (await js.stream_info(DEPT_STREAM)).state.messages
        assert grown > before
        assert await stale.publish_pending() == 0
        assert (await js.stream_info(DEPT_STREAM)).state.messages == grown

        async def traffic() -> None:  # events on the log and on the department stream, after the sneaking subscribe
            before_traffic = (await js.stream_info(DEPT_STREAM)).state.messages
            await emit(reported("再后来的问题"), "P6", "U1", MEMBER)
            await emit(fed_back(), "P6", "U1", MEMBER)
            await svc.kernel.catch_up()
            await wait_until(stream_holds_outbox, timeout=20)
            assert (await js.stream_info(DEPT_STREAM)).state.messages > before_traffic

        await _refused_everything_else(dept, djs, traffic)
        await dept.close()


async def _refused_everything_else(dept: Any, djs: Any, traffic: Callable[[], Awaitable[None]]) -> None:
    """No takeover of another department's consumer, no consumer management, no internal log."""
    other = consumer_names("U2")[0]
    config = {"stream_name": DEPT_STREAM, "config": {"durable_name": other, "name": other,
                                                     "filter_subject": "ducha.dept.U1.>", "ack_policy": "explicit"}}
    for subject in (f"$JS.API.CONSUMER.CREATE.{DEPT_STREAM}.{other}.ducha.dept.U1.>",
                    f"$JS.API.CONSUMER.CREATE.{DEPT_STREAM}.{other}",
                    f"$JS.API.CONSUMER.DURABLE.CREATE.{DEPT_STREAM}.{other}",
                    f"$JS.API.CONSUMER.CREATE.{DEPT_STREAM}.{consumer_names('U1')[0]}",
                    f"$JS.API.CONSUMER.DELETE.{DEPT_STREAM}.{other}",
                    f"$JS.API.CONSUMER.DELETE.{DEPT_STREAM}.{consumer_names('U1')[0]}",
                    f"$JS.API.CONSUMER.MSG.NEXT.{DEPT_STREAM}.{other}",
                    "$JS.API.CONSUMER.CREATE.DUCHA_EVENTS.x.ducha.ev.*.U1.>",
                    "$JS.API.STREAM.MSG.GET.DUCHA_EVENTS", f"$JS.API.STREAM.MSG.GET.{DEPT_STREAM}",
                    "$JS.API.STREAM.INFO.DUCHA_EVENTS"):
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await dept.request(subject, json.dumps(config).encode(), timeout=0.5)
    info = await djs.consumer_info(DEPT_STREAM, other.replace("U2", "U1"))  # its own: fine
    assert info.config.filter_subject == "ducha.dept.U1.>"
    sneaked: list[str] = []

    async def on_msg(msg: Any) -> None:
        sneaked.append(msg.subject)

    for subject in ("ducha.ev.>", "ducha.dept.>", "_INBOX.>"):
        await dept.subscribe(subject, cb=on_msg)
    await dept.flush()
    await traffic()
    # the server answers this flush after routing every message published before it
    await dept.flush()
    assert sneaked == []
