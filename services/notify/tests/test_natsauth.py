"""Department NATS users from the directory, tested against a real nats-server with the config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
from ducha.contracts import registry
from ducha.contracts.intake import IssueFedBack
from ducha.kernel.commands import CommandRunner
from ducha.kernel.eventstore import EventStore, ensure_streams
from ducha.kernel.natsserver import NatsServer
from ducha_notify.natsauth import generate
from nats.js.api import ConsumerConfig, DeliverPolicy

from .conftest import issue, make_emit, seed_directory  # type: ignore[import-not-found]


async def test_department_user_reads_only_its_own_unit(tmp_path: Path) -> None:
    store_dir = tmp_path / "js"
    server = NatsServer(store_dir=store_dir).start()
    try:
        nc = await nats.connect(server.url)
        await ensure_streams(nc.jetstream())
        emit = make_emit(CommandRunner(EventStore(nc, registry)))
        await seed_directory(emit)
        for unit in ("U1", "U2"):
            await emit(issue(f"{unit} 问题"), f"P{unit}", unit)
        await nc.close()
        conf, creds_file = tmp_path / "auth.conf", tmp_path / "creds.json"
        depts = await generate(server.url, conf, creds_file)
        assert {d.unit_id for d in depts} == {"U1", "U2"}
        again = await generate(server.url, conf, creds_file)  # passwords are stable across runs
        assert [d.password for d in again] == [d.password for d in depts]
    finally:
        server.stop()

    creds = json.loads(creds_file.read_text())
    secured = NatsServer(store_dir=store_dir, extra_config=conf.read_text()).start()
    try:
        await _check_permissions(secured.url, creds)
    finally:
        secured.stop()


async def _check_permissions(url: str, creds: dict) -> None:  # type: ignore[type-arg]
    with_pw = url.replace("nats://", f"nats://{creds['service']['user']}:{creds['service']['password']}@")
    svc = await nats.connect(with_pw)
    emit = make_emit(CommandRunner(EventStore(svc, registry)))
    u1 = next(d for d in creds["departments"] if d["unit_id"] == "U1")
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    dept = await nats.connect(url, user=u1["user"], password=u1["password"],
                              inbox_prefix=u1["inbox_prefix"], error_cb=on_error)
    js = dept.jetstream(timeout=1.0)
    got: list[tuple[int, str]] = []

    async def on_msg(msg: nats.aio.msg.Msg) -> None:
        got.append((msg.metadata.sequence.stream, msg.subject))

    # 1. its own unit, from the start (resumable: opt_start_seq is the last sequence seen + 1)
    sub = await js.subscribe(u1["subject"], stream=u1["stream"], cb=on_msg, ordered_consumer=True,
                             config=ConsumerConfig(name="u1-reader-1", deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                                   opt_start_seq=1, inactive_threshold=30))
    live = await emit(IssueFedBack(responsible_person="张三", commit_deadline_by="2026-01-09",
                                   max_deadline="2026-03-31", fed_back_at="2026-01-06T10:00:00Z"), "PU1", "U1")
    await emit(issue("U2 又一个问题"), "PU2b", "U2")
    for _ in range(50):
        if any(seq == live.last_sequence for seq, _s in got):
            break
        await asyncio.sleep(0.05)
    subjects = [s for _seq, s in got]
    assert subjects and all(s.split(".")[3] == "U1" for s in subjects), subjects
    assert any(s.endswith("UnitRegistered") for s in subjects) and any(s.endswith("IssueFedBack") for s in subjects)
    await sub.unsubscribe()

    # 2. resume after the last seen sequence: only what is newer
    resumed: list[int] = []

    async def on_resumed(msg: nats.aio.msg.Msg) -> None:
        resumed.append(msg.metadata.sequence.stream)

    last_seen = got[-2][0]
    sub = await js.subscribe(u1["subject"], stream=u1["stream"], cb=on_resumed, ordered_consumer=True,
                             config=ConsumerConfig(name="u1-reader-2", deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                                   opt_start_seq=last_seen + 1, inactive_threshold=30))
    for _ in range(40):
        if resumed:
            break
        await asyncio.sleep(0.05)
    assert resumed == [live.last_sequence]
    await sub.unsubscribe()

    # 3. another unit's events: consumer creation refused, core subscription refused
    for subject, name in (("ducha.ev.*.U2.>", "u1-sneak"), ("ducha.ev.>", "u1-all")):
        try:
            await js.subscribe(subject, stream="DUCHA_EVENTS", cb=on_msg, ordered_consumer=True,
                               config=ConsumerConfig(name=name))
            raise AssertionError(f"{subject}: consumer created")
        except (TimeoutError, nats.errors.TimeoutError):
            pass
    # the filter in the API subject must match the config's filter (the server checks)
    req = {"stream_name": "DUCHA_EVENTS", "config": {"name": "u1-trick", "filter_subject": "ducha.ev.>",
                                                     "deliver_subject": "_INBOX_U1.trick", "ack_policy": "none"}}
    reply = await dept.request("$JS.API.CONSUMER.CREATE.DUCHA_EVENTS.u1-trick.ducha.ev.*.U1.>",
                               json.dumps(req).encode(), timeout=2)
    assert "error" in json.loads(reply.data)
    # unnamed (unfiltered form) creation is not allowed at all
    try:
        await dept.request("$JS.API.CONSUMER.CREATE.DUCHA_EVENTS", json.dumps(req).encode(), timeout=1)
        raise AssertionError("unfiltered consumer create answered")
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        pass
    sneaked: list[str] = []

    async def on_sneak(msg: nats.aio.msg.Msg) -> None:
        sneaked.append(msg.subject)

    await dept.subscribe("ducha.ev.*.U2.>", cb=on_sneak)
    await dept.subscribe("_INBOX.>", cb=on_sneak)
    await asyncio.sleep(0.2)
    await emit(issue("U2 第三个问题"), "PU2c", "U2")
    # 4. never publish events
    await dept.publish("ducha.ev.intake.U1.problem.PX.IssueReported", b"{}")
    await dept.flush()
    await asyncio.sleep(0.5)
    assert sneaked == []
    lowered = [e.lower() for e in errors]  # nats-py lower-cases the server's -ERR text
    assert any('subscription to "ducha.ev.*.u2.>"' in e for e in lowered), errors
    assert any('subscription to "_inbox.>"' in e for e in lowered), errors
    assert any('publish to "ducha.ev.intake.u1.problem.px.issuereported"' in e for e in lowered), errors
    store = EventStore(svc, registry)
    assert [e async for e in store.read_subject("ducha.ev.intake.U1.problem.PX.*")] == []
    await dept.close()
    await svc.close()
