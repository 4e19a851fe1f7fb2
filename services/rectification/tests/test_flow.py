"""The whole life of a problem here: fed back -> deadline -> work -> submitted, and the return path
(rejected, rebounded) driven by verification's events through the reaction."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from ducha.contracts import SYSTEM_ACTOR
from ducha.contracts import verification as vf
from ducha.kernel.clock import derived_id
from ducha.kernel.projection import positions
from ducha.kernel.reaction import ReactionRunner
from rect_support import HELPER1, OFFICE, TEAM1, UNIT1, Client, Upstream, evidence
from sqlalchemy import update


async def test_whole_flow_from_fed_back_to_submitted(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1")
    today = up.today()

    # Commands wait for intake's facts: no min_sequence needed right after feedback.
    r = await http.commit("P1", today + timedelta(days=30))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id", "sequence", "replayed"} and r.json()["id"] == "P1"

    r = await http.post(UNIT1, "/v1/problems/P1/progress", {"percent": 30, "text": "已完成选址", "evidence": evidence()})
    assert r.status_code == 200, r.text
    r = await http.post(TEAM1, "/v1/problems/P1/dispatches",
                        {"kind": "unannounced_visit", "findings": "现场施工人员不足", "visited_on": today.isoformat()})
    assert r.status_code == 200, r.text
    r = await http.post(TEAM1, "/v1/problems/P1/reminders", {"kind": "reminder", "text": "请加快进度"})
    reminder_id = r.json()["id"]
    assert reminder_id != "P1"
    r = await http.post(UNIT1, f"/v1/problems/P1/reminders/{reminder_id}/acknowledge", {"note": "收到"})
    assert r.status_code == 200, r.text

    r = await http.post(UNIT1, "/v1/problems/P1/help", {"difficulty": "用地审批卡在市级部门"})
    help_id = r.json()["id"]
    r = await http.post(OFFICE, f"/v1/problems/P1/help/{help_id}/assign", {"helper_id": "H1", "helper_name": "市发改委"})
    assert r.status_code == 200, r.text
    r = await http.post(HELPER1, f"/v1/problems/P1/help/{help_id}/report", {"text": "已协调自然资源局加快审批"})
    assert r.status_code == 200, r.text

    r = await http.post(UNIT1, "/v1/problems/P1/extensions",
                        {"requested_deadline": (today + timedelta(days=45)).isoformat(), "reason": "审批延误"})
    request_id = r.json()["id"]
    r = await http.post(TEAM1, f"/v1/problems/P1/extensions/{request_id}/grant", {"note": "同意延期"})
    assert r.status_code == 200, r.text

    r = await http.submit("P1")
    assert r.status_code == 200, r.text
    seq = r.json()["sequence"]

    assert await up.types("P1") == [
        "DeadlineSet", "ProgressReported", "DispatchRecorded", "ReminderIssued", "ReminderAcknowledged",
        "HelpRequested", "HelperAssigned", "HelpReported", "ExtensionRequested", "ExtensionGranted",
        "DeadlineSet", "RectificationSubmitted",
    ]
    page = await http.ledger(UNIT1, min_sequence=seq)
    row = page["items"][0]
    assert page["total"] == 1
    assert row["status"] == "submitted" and row["submission_no"] == 1
    assert row["deadline"] == (today + timedelta(days=45)).isoformat()
    assert row["postponements"] == 1 and row["deadline_changes"] == 2 and row["progress"] == 30
    assert row["unit_name"] == "城关区人民政府" and row["team_name"] == "第一督查督导组"
    assert row["light"] is None and row["open_reminders"] == 0 and row["pending_extension_id"] is None

    detail = (await http.get(UNIT1, "/v1/problems/P1", min_sequence=seq)).json()
    assert [e["event_type"] for e in detail["timeline"]][-1] == "RectificationSubmitted"
    assert detail["helps"][0]["helper_id"] == "H1" and detail["helps"][0]["reports"] == 1
    assert detail["extensions"][0]["status"] == "granted"
    assert detail["reminders"][0]["acknowledged_at"] is not None


async def test_a_repeated_command_returns_the_first_result(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1")
    body = {"requested_deadline": (up.today() + timedelta(days=80)).isoformat(), "reason": "资金未到位"}
    assert (await http.commit("P1", up.today() + timedelta(days=20))).status_code == 200
    first = await http.post(UNIT1, "/v1/problems/P1/extensions", body, key="ext-req-0001")
    again = await http.post(UNIT1, "/v1/problems/P1/extensions", body, key="ext-req-0001")
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert (await up.types("P1")).count("ExtensionRequested") == 1


async def reopened(up: Upstream, pid: str, count: int) -> Any:
    async def check() -> bool:
        return (await up.types(pid)).count("RectificationReopened") >= count

    return await up.wait_until(check)


async def test_rejected_then_rebounded_problem_comes_back_with_reasons(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1", max_days=20)
    today = up.today()
    assert (await http.commit("P1", today + timedelta(days=20))).status_code == 200
    assert (await http.submit("P1")).status_code == 200

    rejected = await up.reject("P1", 1, "佐证材料不全", "现场仍有堆放")
    await reopened(up, "P1", 1)
    event = (await up.events("P1"))[-1]
    assert event.payload.cause == "rejected" and event.payload.reasons == ("佐证材料不全", "现场仍有堆放")
    source = str((await svc.kernel.store.load(up.vkey("P1"))).events[-1].event_id)
    assert event.causation_id == source and event.payload.source_event_id == source
    assert event.actor == SYSTEM_ACTOR
    assert event.command_id == derived_id("reopen_on_rejection_or_rebound", source)

    row = (await http.ledger(UNIT1, min_sequence=event.sequence))["items"][0]
    assert row["status"] == "rectifying" and row["last_rejection_reasons"] == ["佐证材料不全", "现场仍有堆放"]
    assert row["reopen_count"] == 1 and row["last_reopen_cause"] == "rejected"
    assert rejected.last_sequence < event.sequence

    # A fresh window after reopen: beyond the original maximum (20 days) but within 90 days from today.
    svc.kernel.clock.advance(timedelta(days=5))
    r = await http.post(UNIT1, "/v1/problems/P1/deadline",
                        {"deadline": (today + timedelta(days=60)).isoformat(), "plan": "重新整改"})
    assert r.status_code == 200, r.text
    # The old deadline (today + 20) was still ahead: the first deadline after the reopen is still
    # `reset_after_reopen` (README: a reopen starts a new cycle); later ones are revisions.
    assert (await up.events("P1"))[-1].payload.change == "reset_after_reopen"
    too_far = await http.post(UNIT1, "/v1/problems/P1/deadline",
                              {"deadline": (today + timedelta(days=5 + 91)).isoformat(), "reason": "再延"})
    assert too_far.status_code == 422 and "beyond" in too_far.json()["error"]["message"]
    later = {"deadline": (today + timedelta(days=70)).isoformat()}
    unexplained = await http.post(UNIT1, "/v1/problems/P1/deadline", later)
    assert unexplained.status_code == 422 and unexplained.json()["error"]["field"] == "reason"
    assert (await http.post(UNIT1, "/v1/problems/P1/deadline", {**later, "reason": "设备到货延误"})).status_code == 200
    assert (await up.events("P1"))[-1].payload.change == "revised"

    r = await http.submit("P1")
    assert r.status_code == 200
    assert (await up.events("P1"))[-1].payload.submission_no == 2

    await up.verify("P1", 2)
    written = await up.write_off("P1")
    row = (await http.ledger(UNIT1, min_sequence=written.last_sequence))["items"][0]
    assert row["status"] == "written_off" and row["ledger_no"] == 1
    assert row["progress"] == 100 and row["light"] is None  # closed: no stale progress, no light

    refused = await http.post(UNIT1, "/v1/problems/P1/deadline",
                              {"deadline": (up.today() + timedelta(days=3)).isoformat(), "reason": "x"})
    assert refused.status_code == 409 and "written off" in refused.json()["error"]["message"]

    await up.revisit("P1", vf.RevisitOutcome.HELD, "未反弹")
    await up.revisit("P1", vf.RevisitOutcome.REBOUNDED, "回访发现问题反弹")
    await reopened(up, "P1", 2)
    last = (await up.events("P1"))[-1]
    assert last.payload.cause == "rebounded" and last.payload.reasons == ("回访发现问题反弹",)
    row = (await http.ledger(UNIT1, min_sequence=last.sequence))["items"][0]
    assert row["status"] == "rectifying" and row["rebound_count"] == 1 and row["reopen_count"] == 2
    assert row["ledger_no"] is None  # the write-off no longer stands
    # The unit rectifies again: a new deadline is accepted although the projection saw a write-off.
    r = await http.post(UNIT1, "/v1/problems/P1/deadline",
                        {"deadline": (up.today() + timedelta(days=10)).isoformat(), "plan": "防止反弹"})
    assert r.status_code == 200, r.text
    assert (await up.types("P1")).count("RectificationReopened") == 2  # the held revisit reopened nothing


async def test_the_reaction_reopens_once_across_a_restart(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=10))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    await up.reject("P1", 1, "不合格")
    await reopened(up, "P1", 1)
    reactor = svc.kernel.reactors["reopen_on_rejection_or_rebound"]
    await reactor.stop()
    # As if it had crashed before storing its position: a new runner reacts to everything again.
    with svc.kernel.engine.begin() as conn:
        conn.execute(update(positions).where(positions.c.name == "reaction:reopen_on_rejection_or_rebound")
                     .values(last_sequence=0))
    again = ReactionRunner(svc.kernel, reactor.reaction, retry_delay=0.05)
    await again.start()
    try:
        last = await svc.kernel.store.last_sequence()
        await up.wait_until(lambda: _reached(again, last))
    finally:
        await again.stop()
    assert (await up.types("P1")).count("RectificationReopened") == 1


async def _reached(runner: ReactionRunner, sequence: int) -> bool:
    return runner.position >= sequence - 1  # the reopen itself is not one of its subjects


async def test_a_rebound_long_after_write_off_asks_for_a_new_deadline_not_a_red_light(
    svc: Any, up: Upstream, http: Client
) -> None:
    from ducha_rectification.jobs import tick

    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=10))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    await up.verify("P1", 1)
    await up.write_off("P1")
    svc.kernel.clock.advance(timedelta(days=60))  # the revisit, long after the old deadline
    await up.revisit("P1", vf.RevisitOutcome.REBOUNDED, "问题反弹")
    await reopened(up, "P1", 1)
    seq = (await up.events("P1"))[-1].sequence
    row = (await http.ledger(UNIT1, min_sequence=seq))["items"][0]
    assert row["status"] == "awaiting_commitment" and row["deadline"] is None and row["light"] == "green"
    assert row["last_rejection_reasons"] == ["问题反弹"] and row["rebound_count"] == 1
    assert await tick(svc.kernel) == []  # the old, met deadline is not "missed"

    early = await http.submit("P1")
    assert early.status_code == 409 and "deadline" in early.json()["error"]["message"]
    # Reopened on Friday 2026-05-01: a new deadline is due within the round's 3 working days (by
    # Wednesday 05-06); not committing by then is recorded once.
    assert row["commit_deadline_by"] == "2026-05-06"
    svc.kernel.clock.advance(timedelta(days=5))
    assert await tick(svc.kernel) == []
    svc.kernel.clock.advance(timedelta(days=1))
    written = await tick(svc.kernel)
    assert [r.events[0].event_type for r in written] == ["DeadlineCommitmentMissed"]
    assert written[0].events[0].payload.commit_deadline_by.isoformat() == "2026-05-06"
    assert await tick(svc.kernel) == []
    r = await http.post(UNIT1, "/v1/problems/P1/deadline",
                        {"deadline": (up.today() + timedelta(days=30)).isoformat(), "plan": "巩固整改"})
    assert r.status_code == 200, r.text
    assert (await up.events("P1"))[-1].payload.change == "reset_after_reopen"
    assert (await http.submit("P1")).status_code == 200
    assert (await up.events("P1"))[-1].payload.submission_no == 2


async def test_a_rejection_shows_as_reopened_at_its_own_sequence(svc: Any, up: Upstream, http: Client) -> None:
    """Issue 16: the rejection's sequence is enough to read the reopen (`?min_sequence=`), before
    (here: without) the reaction's RectificationReopened; that event then changes nothing on the row."""
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=10))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    reactor = svc.kernel.reactors["reopen_on_rejection_or_rebound"]
    await reactor.stop()
    rejected = await up.reject("P1", 1, "佐证材料不全")
    row = (await http.ledger(UNIT1, min_sequence=rejected.last_sequence))["items"][0]
    assert row["status"] == "rectifying" and row["reopen_count"] == 1
    assert row["last_reopen_cause"] == "rejected" and row["last_rejection_reasons"] == ["佐证材料不全"]
    assert "RectificationReopened" not in await up.types("P1")
    detail = (await http.get(UNIT1, "/v1/problems/P1", min_sequence=rejected.last_sequence)).json()

    # The next city day: the reaction's reopen is dated then, and the row follows that date.
    svc.kernel.clock.advance(timedelta(days=1))
    again = ReactionRunner(svc.kernel, reactor.reaction, retry_delay=0.05)
    svc.kernel.reactors[reactor.reaction.name] = again  # the service's reaction again, as after a restart
    await again.start()
    try:
        await reopened(up, "P1", 1)
        seq = (await up.events("P1"))[-1].sequence
        after = (await http.get(UNIT1, "/v1/problems/P1", min_sequence=seq)).json()
        assert after["timeline"][-1]["event_type"] == "RectificationReopened"
        same = ("status", "deadline", "reopen_count", "rebound_count", "last_reopen_cause", "last_rejection_reasons")
        assert {k: after[k] for k in same} == {k: detail[k] for k in same}
        # A new deadline is due from the reopen's own day, as the aggregate decides it.
        r = await http.post(UNIT1, "/v1/problems/P1/deadline",
                            {"deadline": (up.today() + timedelta(days=20)).isoformat(), "plan": "重新整改"})
        assert r.status_code == 200, r.text
        assert (await up.events("P1"))[-1].payload.change == "reset_after_reopen"
    finally:
        await again.stop()


async def test_a_unit_may_resubmit_as_soon_as_it_sees_the_rejection(svc: Any, up: Upstream, http: Client) -> None:
    """The ledger shows the reopen at the rejection's own sequence; a resubmission sent at once waits
    for the reaction to record the reopen on the problem instead of being refused as still awaiting
    review (it was: 409 'submission 1 is awaiting review' under load)."""
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=10))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    reactor = svc.kernel.reactors["reopen_on_rejection_or_rebound"]
    await reactor.stop()
    rejected = await up.reject("P1", 1, "佐证材料不全")
    row = (await http.ledger(UNIT1, min_sequence=rejected.last_sequence))["items"][0]
    assert row["status"] == "rectifying"
    again = ReactionRunner(svc.kernel, reactor.reaction, retry_delay=0.05)
    svc.kernel.reactors[reactor.reaction.name] = again

    async def reaction_comes_back() -> None:
        await asyncio.sleep(0.5)  # the reaction is slow to record the reopen
        await again.start()

    late = asyncio.create_task(reaction_comes_back())
    try:
        r = await http.submit("P1")
        assert r.status_code == 200, r.text
        assert [e.payload.submission_no for e in await up.events("P1")
                if e.event_type == "RectificationSubmitted"] == [1, 2]
    finally:
        await late
        await again.stop()


async def test_a_rejection_after_the_deadline_asks_for_a_new_one_dated_by_the_reopen(
    svc: Any, up: Upstream, http: Client
) -> None:
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=2))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    svc.kernel.clock.advance(timedelta(days=5))  # Saturday 03-07: the deadline (03-04) has passed
    reactor = svc.kernel.reactors["reopen_on_rejection_or_rebound"]
    await reactor.stop()
    rejected = await up.reject("P1", 1, "不合格")
    row = (await http.ledger(UNIT1, min_sequence=rejected.last_sequence))["items"][0]
    assert row["status"] == "awaiting_commitment" and row["deadline"] is None
    assert row["commit_deadline_by"] == "2026-03-11"  # 3 working days from Saturday 03-07
    svc.kernel.clock.advance(timedelta(days=2))  # the reaction runs on Monday 03-09
    again = ReactionRunner(svc.kernel, reactor.reaction, retry_delay=0.05)
    await again.start()
    try:
        await reopened(up, "P1", 1)
    finally:
        await again.stop()
    seq = (await up.events("P1"))[-1].sequence
    row = (await http.ledger(UNIT1, min_sequence=seq))["items"][0]
    assert row["status"] == "awaiting_commitment" and row["commit_deadline_by"] == "2026-03-12"
    assert row["reopen_count"] == 1
