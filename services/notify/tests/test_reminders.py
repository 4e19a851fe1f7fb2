"""Reminders and escalation with a controllable clock, a real SMTP server (aiosmtpd) and a real
robot receiver: the right people, in Chinese, once per cause, also across a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ducha.contracts import Actor, Role
from ducha.contracts.intake import HelperDepartmentRegistered, IssueFedBack
from ducha.contracts.rectification import (
    DeadlineApproaching,
    DeadlineChange,
    DeadlineCommitmentMissed,
    DeadlineMissed,
    DeadlineSet,
    HelperAssigned,
)
from ducha.contracts.verification import (
    Effectiveness,
    ProblemWrittenOff,
    RectificationRejected,
    RectificationVerified,
)
from ducha.kernel.clock import ManualClock
from ducha.kernel.natsserver import NatsServer, free_port
from ducha.testing.eventual import assert_not_yet_visible, projections_paused
from ducha.testing.plugin import fresh_database_url, run_service
from ducha_notify.app import spec
from ducha_notify.notifications.domain import notification_key
from ducha_notify.notifications.jobs import scan

from .conftest import (  # type: ignore[import-not-found]
    OFFICE,
    SYSTEM,
    UNIT1,
    Receiver,
    fast_settings,
    issue,
    make_emit,
    seed_directory,
    wait_until,
)

TEAM = Actor(id="p-t1", name="赵组长", role=Role.TEAM, team_id="T1")
FED_BACK = IssueFedBack(responsible_person="张三", commit_deadline_by=date(2026, 1, 9), max_deadline=date(2026, 3, 31),
                        requirements="限期整改", fed_back_at="2026-01-06T10:00:00Z")


async def settle(svc: Any) -> None:
    """Wait until every notification requested so far is sent or finally failed."""
    async def done() -> bool:
        await svc.kernel.runners["notify_notifications"].catch_up(timeout=10)
        resp = await svc.client.get("/v1/notifications", headers=svc.headers(OFFICE))
        return all(x["status"] != "pending" for n in resp.json() for x in n["deliveries"])

    # each reaction has handled everything in the log up to now (its stored position), not "after a while"
    for runner in svc.kernel.reactors.values():
        await wait_until(lambda r=runner: _reacted(svc, r))
    await wait_until(done)


async def _reacted(svc: Any, runner: Any) -> bool:
    store = svc.kernel.store
    for subject in runner.reaction.subjects:
        if await store.next_sequence_matching(subject, runner.position) is not None:
            return False
    return True


async def test_each_reminder_reaches_the_right_people_once(nats_server: NatsServer, tmp_path: Path, keys: Any,
                                                           smtp: Any) -> None:
    clock = ManualClock()
    robot = await Receiver().start()
    settings = fast_settings(smtp_port=smtp.port, escalate_after_hours=48, digest_hour=23)
    database = fresh_database_url(tmp_path, "notify")
    async with run_service(spec(settings), nats_server.url, tmp_path, keys, clock=clock, database=database) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await emit(HelperDepartmentRegistered(name="市住建局", contact_name="住建联络员", contact_email="h1@example.cn"),
                   "H1", None)
        await svc.client.post("/v1/webhooks", json={"url": robot.url, "format": "wecom", "event_types": ["UnitRegistered"]},
                              headers=svc.headers(UNIT1))
        await emit(issue("重点项目审批超时"), "P1", "U1", actor=TEAM)
        await emit(FED_BACK, "P1", "U1", actor=TEAM)
        await settle(svc)
        assert smtp.subjects("u1@example.cn") == ["【督查交办】城关区人民政府：重点项目审批超时"]
        mail = smtp.to("zhangsan@u1.example.cn")[0]
        assert "张三：" in mail.get_content() and "2026-01-09" in mail.get_content()
        assert smtp.to("zhao@team.example.cn") == []  # feedback goes to the unit only
        await wait_until(lambda: any("督查交办" in b.decode() for _h, b in robot.accepted))
        assert json.loads(robot.accepted[-1][1])["msgtype"] == "markdown"

        # the office edits a template: later messages use it
        resp = await svc.client.put("/v1/templates/deadline_to_set", headers=svc.headers(OFFICE),
                                    json={"subject": "【催办】请{unit_name}立即承诺时限", "body": "{recipient_name}：{problem_title}，请于今日承诺。"})
        assert resp.status_code == 200, resp.text
        bad = await svc.client.put("/v1/templates/deadline_to_set", headers=svc.headers(OFFICE),
                                   json={"subject": "{nope}", "body": "x"})
        assert bad.status_code == 422
        assert (await svc.client.put("/v1/templates/deadline_to_set", headers=svc.headers(UNIT1),
                                     json={"subject": "x", "body": "x"})).status_code == 403
        await svc.kernel.runners["notify_notifications"].wait_for(resp.json()["sequence"])
        await emit(DeadlineCommitmentMissed(commit_deadline_by=date(2026, 1, 9)), "P1", "U1", actor=SYSTEM)
        await settle(svc)
        assert smtp.subjects("zhao@team.example.cn") == ["【催办】请城关区人民政府立即承诺时限"]

        await emit(DeadlineSet(deadline=date(2026, 1, 20), change=DeadlineChange.COMMITTED), "P1", "U1", actor=UNIT1)
        await emit(DeadlineApproaching(deadline=date(2026, 1, 20), days_left=3), "P1", "U1", actor=SYSTEM)
        clock.advance(timedelta(days=15))
        missed = await emit(DeadlineMissed(deadline=date(2026, 1, 20)), "P1", "U1", actor=SYSTEM)
        await settle(svc)
        assert "【黄灯提醒】重点项目审批超时整改时限临近" in smtp.subjects("u1@example.cn")
        assert "【红灯逾期】城关区人民政府：重点项目审批超时" in smtp.subjects("zhao@team.example.cn")
        assert smtp.to("wangwu@office.example.cn") == []

        # escalation: not before the configured time, then to office and cadre, once
        await svc.kernel.wait_for(missed.last_sequence)
        clock.advance(timedelta(hours=47))
        assert await scan(svc.kernel) == 0
        clock.advance(timedelta(hours=2))
        assert await scan(svc.kernel) == 1
        assert await scan(svc.kernel) == 0
        await settle(svc)
        for address in ("wangwu@office.example.cn", "qian@cadre.example.cn"):
            assert len(smtp.subjects(address)) == 1 and "逾期升级" in smtp.subjects(address)[0]

        await emit(RectificationRejected(submission_no=1, reasons=("证据不足",)), "P1", "U1", actor=TEAM)
        await emit(HelperAssigned(help_id="HP1", helper_id="H1", helper_name="市住建局", note="协调审批"), "P1", "U1",
                   actor=OFFICE)
        await emit(RectificationVerified(submission_no=2, effectiveness=Effectiveness.GOOD, assessment="整改到位"),
                   "P1", "U1", actor=TEAM)
        await emit(ProblemWrittenOff(round_id="R2", ledger_no=1, revisit_due_on=date(2026, 3, 1)), "P1", "U1", actor=TEAM)
        await settle(svc)
        subjects = smtp.subjects("zhao@team.example.cn")
        assert "【审核未通过】重点项目审批超时" in subjects and "【审核验收通过】重点项目审批超时" in subjects
        assert "原因：证据不足" in smtp.to("u1@example.cn")[-3].get_content() or any(
            "证据不足" in m.get_content() for m in smtp.to("u1@example.cn"))
        assert smtp.subjects("h1@example.cn") == ["【督帮一体】请市住建局帮扶城关区人民政府"]
        assert smtp.subjects("sun@helper.example.cn") == ["【督帮一体】请市住建局帮扶城关区人民政府"]
        clock.set(clock.now().replace(year=2026, month=3, day=2))
        assert await scan(svc.kernel) == 1  # revisit due, to the team
        await settle(svc)
        assert smtp.subjects("zhao@team.example.cn")[-1] == "【回访提醒】重点项目审批超时应于2026-03-01回访"

        # inbox: each person sees theirs, read / unread
        box = (await svc.client.get("/v1/inbox", headers=svc.headers(UNIT1))).json()
        assert box and all(not x["read"] for x in box) and box[-1]["body"].startswith("张三：")
        resp = await svc.client.post(f"/v1/inbox/{box[0]['id']}/read", headers=svc.headers(UNIT1))
        assert resp.status_code == 200
        unread = (await svc.client.get(f"/v1/inbox?unread=true&min_sequence={resp.json()['sequence']}",
                                       headers=svc.headers(UNIT1))).json()
        assert len(unread) == len(box) - 1
        other = Actor(id="p-u2", name="李四", role=Role.UNIT, unit_id="U2")
        assert (await svc.client.post(f"/v1/inbox/{box[0]['id']}/read", headers=svc.headers(other))).status_code == 404
        # the record proves who was warned, when
        record = (await svc.client.get("/v1/notifications?problem_id=P1", headers=svc.headers(OFFICE))).json()
        kinds = [r["kind"] for r in record]
        assert kinds == ["feedback_received", "deadline_to_set", "deadline_approaching", "deadline_missed", "escalation",
                         "review_rejected", "helper_assigned", "review_verified", "revisit_due"]
        assert all(x["status"] == "sent" for r in record for x in r["deliveries"])
        total = len(smtp.messages)
    # restart: nothing is sent again
    async with run_service(spec(settings), nats_server.url, tmp_path, keys, clock=clock, database=database) as svc:
        assert await scan(svc.kernel) == 0
        sender = svc.kernel.extras["notify"].sender
        await wait_until(lambda: sender is not None and sender.passes >= 2 and not sender.tasks)
        assert len(smtp.messages) == total
    await robot.stop()


async def test_unreachable_mail_server_fails_recorded_and_blocks_nothing(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    robot = await Receiver().start()
    settings = fast_settings(smtp_port=free_port(), send_max_attempts=2)
    async with run_service(spec(settings), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await svc.client.post("/v1/webhooks", json={"url": robot.url, "format": "dingtalk", "event_types": ["UnitRegistered"]},
                              headers=svc.headers(UNIT1))
        await emit(issue(), "P1", "U1")
        await emit(FED_BACK, "P1", "U1")
        await wait_until(lambda: any("督查交办" in b.decode() for _h, b in robot.accepted))
        await settle(svc)
        record = (await svc.client.get("/v1/notifications", headers=svc.headers(OFFICE))).json()
        mails = [x for x in record[0]["deliveries"] if x["channel"] == "email"]
        assert mails and all(x["status"] == "failed" and x["attempts"] == 2 and x["last_error"] for x in mails)
        robots = [x for x in record[0]["deliveries"] if x["channel"] == "robot"]
        assert [x["status"] for x in robots] == ["sent"]
    await robot.stop()


async def test_mail_without_an_smtp_server_configured_is_recorded_once_as_unconfigured_and_not_retried(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    settings = fast_settings(smtp_host=None, send_max_attempts=5)
    async with run_service(spec(settings), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await emit(issue(), "P1", "U1")
        await emit(FED_BACK, "P1", "U1")
        await settle(svc)
        record = (await svc.client.get("/v1/notifications", headers=svc.headers(OFFICE))).json()
        mails = [x for x in record[0]["deliveries"] if x["channel"] == "email"]
        assert mails and all(x["status"] == "failed" and x["attempts"] == 1 for x in mails), mails
        assert all("not configured" in x["last_error"] for x in mails)
        # Well past the retry backoff: nothing more is recorded for these mails.
        sender_rounds = svc.kernel.extras["notify"].settings.send_backoff_seconds * 2 ** 4
        await asyncio.sleep(sender_rounds)
        loaded = await svc.kernel.store.load(notification_key(record[0]["id"]))
        failed = [e for e in loaded.events if e.event_type == "NotificationFailed"]
        assert len(failed) == len(mails) and all(e.payload.final for e in failed)


async def test_a_manual_scan_while_the_directory_lags_answers_503_not_500(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        assert (await svc.client.post("/v1/notify/scan", headers=svc.headers(UNIT1))).status_code == 403
        async with projections_paused(svc.kernel):
            await emit(issue(), "P9", "U1")  # in the log, not in the directory
            lagging = await svc.client.post("/v1/notify/scan", headers=svc.headers(OFFICE))
            assert_not_yet_visible(lagging, "a scan while the directory lags")
            assert "open problems" in lagging.json()["error"]["message"]
        ok = await svc.client.post("/v1/notify/scan", headers=svc.headers(OFFICE))
        assert ok.status_code == 200 and isinstance(ok.json()["requested"], int), ok.text
