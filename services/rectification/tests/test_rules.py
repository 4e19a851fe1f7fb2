"""Each rule: who may act, which deadlines are refused, what a submission needs, who sees what."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ducha.contracts.common import Severity
from ducha.testing.plugin import run_service
from ducha_rectification.app import spec
from rect_support import (
    CADRE,
    HELPER1,
    HELPER2,
    OFFICE,
    PUBLIC,
    TEAM1,
    TEAM2,
    UNIT1,
    UNIT2,
    Client,
    Upstream,
    clock,
)


def code(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"] if resp.status_code >= 400 else ""


async def test_only_the_responsible_unit_sets_deadlines_reports_asks_and_submits(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    d = (up.today() + timedelta(days=10)).isoformat()
    for who, expected in ((TEAM1, 403), (OFFICE, 403), (HELPER1, 403), (UNIT2, 404)):
        r = await http.post(who, "/v1/problems/P1/deadline", {"deadline": d, "plan": "方案"})
        assert r.status_code == expected, (who.role, r.text)
    assert (await http.commit("P1", up.today() + timedelta(days=10))).status_code == 200
    for path, body in (
        ("progress", {"percent": 10, "text": "进展"}),
        ("help", {"difficulty": "困难"}),
        ("extensions", {"requested_deadline": (up.today() + timedelta(days=20)).isoformat(), "reason": "理由"}),
        ("submission", {"description": "完成", "evidence": [{"ref": "doc-1", "name": "文件"}]}),
    ):
        assert (await http.post(TEAM1, f"/v1/problems/P1/{path}", body)).status_code == 403
        assert (await http.post(UNIT2, f"/v1/problems/P1/{path}", body)).status_code == 404


async def test_only_the_team_or_office_pushes(up: Upstream, http: Client) -> None:
    await up.problem("P1", severity=Severity.SEVERE)
    today = up.today()
    assert (await http.commit("P1", today + timedelta(days=20))).status_code == 200
    dispatch = {"findings": "进展缓慢", "visited_on": today.isoformat()}
    remind = {"text": "请按时整改"}
    shorter = {"deadline": (today + timedelta(days=10)).isoformat(), "reason": "严重问题须尽快整改"}
    for who, expected in ((UNIT1, 403), (TEAM2, 403), (HELPER1, 403), (CADRE, 403)):
        assert (await http.post(who, "/v1/problems/P1/dispatches", dispatch)).status_code == expected
        assert (await http.post(who, "/v1/problems/P1/reminders", remind)).status_code == expected
        assert (await http.post(who, "/v1/problems/P1/deadline/required", shorter)).status_code == expected
    assert (await http.post(OFFICE, "/v1/problems/P1/reminders", remind)).status_code == 200
    assert (await http.post(TEAM1, "/v1/problems/P1/dispatches", dispatch)).status_code == 200
    later = {**shorter, "deadline": (today + timedelta(days=25)).isoformat()}
    assert code(await http.post(TEAM1, "/v1/problems/P1/deadline/required", later)) == (422, "invalid")
    assert (await http.post(TEAM1, "/v1/problems/P1/deadline/required", shorter)).status_code == 200
    assert (await up.events("P1"))[-1].payload.change == "required_by_team"

    # Extensions: requested by the unit, decided by the team or office only, once.
    r = await http.post(UNIT1, "/v1/problems/P1/extensions",
                        {"requested_deadline": (today + timedelta(days=40)).isoformat(), "reason": "资金"})
    rid = r.json()["id"]
    second = await http.post(UNIT1, "/v1/problems/P1/extensions",
                             {"requested_deadline": (today + timedelta(days=41)).isoformat(), "reason": "再申请"})
    assert code(second) == (409, "conflict")
    for who in (UNIT1, TEAM2):
        assert (await http.post(who, f"/v1/problems/P1/extensions/{rid}/grant", {})).status_code == 403
    assert (await http.post(OFFICE, f"/v1/problems/P1/extensions/{rid}/refuse", {"reason": "理由不足"})).status_code == 200
    assert code(await http.post(TEAM1, f"/v1/problems/P1/extensions/{rid}/grant", {})) == (409, "conflict")


async def test_shorter_deadline_only_for_severe_problems(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=20))).status_code == 200
    r = await http.post(TEAM1, "/v1/problems/P1/deadline/required",
                        {"deadline": (up.today() + timedelta(days=5)).isoformat(), "reason": "尽快"})
    assert code(r) == (409, "conflict") and "severe" in r.json()["error"]["message"]


async def test_deadlines_in_the_past_beyond_the_maximum_or_without_plan_are_refused(up: Upstream, http: Client) -> None:
    await up.problem("P1", max_days=30)
    today = up.today()
    past = await http.commit("P1", today - timedelta(days=1))
    assert code(past) == (422, "invalid") and "in the past" in past.json()["error"]["message"]
    assert past.json()["error"]["field"] == "deadline"
    beyond = await http.commit("P1", today + timedelta(days=31))
    assert code(beyond) == (422, "invalid") and "beyond" in beyond.json()["error"]["message"]
    no_plan = await http.post(UNIT1, "/v1/problems/P1/deadline", {"deadline": today.isoformat()})
    assert code(no_plan) == (422, "invalid") and no_plan.json()["error"]["field"] == "plan"
    assert (await http.commit("P1", today + timedelta(days=30))).status_code == 200
    no_reason = await http.post(UNIT1, "/v1/problems/P1/deadline", {"deadline": today.isoformat()})
    assert code(no_reason) == (422, "invalid") and no_reason.json()["error"]["field"] == "reason"


async def test_written_off_problem_refuses_deadlines(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=5))).status_code == 200
    assert (await http.submit("P1")).status_code == 200
    await up.verify("P1", 1)
    seq = (await up.write_off("P1")).last_sequence
    r = await http.post(UNIT1, f"/v1/problems/P1/deadline?min_sequence={seq}",
                        {"deadline": (up.today() + timedelta(days=6)).isoformat(), "reason": "再改"})
    assert code(r) == (409, "conflict") and "written off" in r.json()["error"]["message"]


async def test_submission_needs_evidence_a_deadline_and_an_open_problem(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    no_deadline = await http.submit("P1")
    assert code(no_deadline) == (409, "conflict") and "deadline" in no_deadline.json()["error"]["message"]
    assert (await http.commit("P1", up.today() + timedelta(days=5))).status_code == 200
    bare = await http.post(UNIT1, "/v1/problems/P1/submission", {"description": "完成", "evidence": []})
    assert code(bare) == (422, "invalid") and bare.json()["error"]["field"] == "evidence"
    assert (await http.submit("P1")).status_code == 200
    twice = await http.submit("P1")
    assert code(twice) == (409, "conflict") and "awaiting review" in twice.json()["error"]["message"]
    progress = await http.post(UNIT1, "/v1/problems/P1/progress", {"percent": 50, "text": "继续"})
    assert code(progress) == (409, "conflict")


async def test_reminders_are_acknowledged_by_the_unit_once(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    rid = (await http.post(TEAM1, "/v1/problems/P1/reminders", {"kind": "correction", "text": "纠正做法"})).json()["id"]
    assert (await http.post(TEAM1, f"/v1/problems/P1/reminders/{rid}/acknowledge", {})).status_code == 403
    assert (await http.post(UNIT1, f"/v1/problems/P1/reminders/{rid}/acknowledge", {})).status_code == 200
    assert code(await http.post(UNIT1, f"/v1/problems/P1/reminders/{rid}/acknowledge", {})) == (409, "conflict")
    assert code(await http.post(UNIT1, "/v1/problems/P1/reminders/nope-1/acknowledge", {})) == (404, "not_found")


async def test_only_the_office_assigns_helpers_and_helpers_see_only_their_problems(
    up: Upstream, http: Client
) -> None:
    await up.problem("P1")
    await up.problem("P2", title="招商项目落地慢")
    hid = (await http.post(UNIT1, "/v1/problems/P1/help", {"difficulty": "协调难"})).json()["id"]
    assign = {"helper_id": "H1", "helper_name": "市发改委"}
    assert (await http.post(TEAM1, f"/v1/problems/P1/help/{hid}/assign", assign)).status_code == 403
    assert (await http.post(UNIT1, f"/v1/problems/P1/help/{hid}/assign", assign)).status_code == 403
    r = await http.post(OFFICE, f"/v1/problems/P1/help/{hid}/assign", assign)
    assert r.status_code == 200
    seq = r.json()["sequence"]
    assert (await http.post(HELPER2, f"/v1/problems/P1/help/{hid}/report", {"text": "我来"})).status_code == 404
    assert (await http.post(UNIT1, f"/v1/problems/P1/help/{hid}/report", {"text": "我来"})).status_code == 403
    assert (await http.post(HELPER1, f"/v1/problems/P1/help/{hid}/report", {"text": "已协调"})).status_code == 200

    mine = await http.ledger(HELPER1, min_sequence=seq)
    assert [r["problem_id"] for r in mine["items"]] == ["P1"]
    assert (await http.ledger(HELPER2))["items"] == []
    assert (await http.get(HELPER1, "/v1/problems/P1")).status_code == 200
    assert (await http.get(HELPER1, "/v1/problems/P2")).status_code == 404
    assert (await http.get(HELPER2, "/v1/problems/P1")).status_code == 404


async def test_ledger_scopes_units_and_teams_and_shows_the_city_to_office_and_cadre(
    up: Upstream, http: Client
) -> None:
    await up.problem("P1")
    await up.problem("P2", unit="U2", team="T2")
    seq = await up.problem("P3", fed_back=False)  # not fed back: not on the ledger yet
    assert [r["problem_id"] for r in (await http.ledger(UNIT1, min_sequence=seq))["items"]] == ["P1"]
    assert (await http.get(UNIT1, "/v1/ledger", unit_id="U2")).status_code == 403
    assert [r["problem_id"] for r in (await http.ledger(TEAM2))["items"]] == ["P2"]
    assert (await http.get(TEAM1, "/v1/ledger", team_id="T2")).status_code == 403
    for who in (OFFICE, CADRE):
        page = await http.ledger(who)
        assert page["total"] == 2
        assert [r["problem_id"] for r in (await http.ledger(who, unit_id="U2"))["items"]] == ["P2"]
    assert (await http.ledger(OFFICE, limit=1, offset=1))["items"][0]["problem_id"] in ("P1", "P2")
    assert (await http.get(PUBLIC, "/v1/ledger")).status_code == 403
    assert (await http.get(UNIT2, "/v1/problems/P1")).status_code == 404
    assert (await http.get(TEAM2, "/v1/problems/P1")).status_code == 404
    assert (await http.get(CADRE, "/v1/problems/P1")).status_code == 200
    assert (await http.get(UNIT1, "/v1/problems/P3")).status_code == 404
    filtered = await http.ledger(OFFICE, q="开工", severity="general", status="awaiting_commitment")
    assert filtered["total"] == 2


async def test_withdrawn_problem_refuses_commands(up: Upstream, http: Client) -> None:
    from ducha.contracts import intake as ik
    from ducha.kernel.subjects import AggregateKey

    await up.problem("P1")
    seq = (await up.append(AggregateKey("intake", "problem", "P1", "U1"), ik.IssueWithdrawn(reason="误报"))).last_sequence
    r = await http.post(UNIT1, f"/v1/problems/P1/deadline?min_sequence={seq}",
                        {"deadline": up.today().isoformat(), "plan": "x"})
    assert code(r) == (409, "conflict") and "withdrawn" in r.json()["error"]["message"]


async def test_unknown_problem_is_404_and_a_lagging_projection_is_a_retryable_503(
    nats_server: Any, tmp_path: Path, keys: Any
) -> None:
    async with run_service(spec(), nats_server.url, tmp_path, keys, clock=clock(), read_wait_seconds=0.3) as svc:
        up, http = Upstream(svc), Client(svc)
        await up.world()
        assert code(await http.commit("NOPE", up.today())) == (404, "not_found")
        runner = svc.kernel.runners["rectification_ledger"]
        await runner.stop()  # intake's events are in the log but not applied here yet
        await up.problem("P1")
        r = await http.commit("P1", up.today() + timedelta(days=5))
        assert code(r) == (503, "not_yet_visible") and r.headers["Retry-After"] == "1"
        await runner.start()
        r = await http.commit("P1", up.today() + timedelta(days=5))
        assert r.status_code == 200, r.text


async def test_public_cannot_read_or_export_the_ledger(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    assert (await http.get(PUBLIC, "/v1/ledger.xlsx")).status_code == 403
    assert (await http.get(PUBLIC, "/v1/problems/P1")).status_code == 403
