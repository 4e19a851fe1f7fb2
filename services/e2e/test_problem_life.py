"""One problem's whole life across intake, rectification and verification, each a separate service
with its own database, talking only through the event log on a real NATS server:

reported -> fed back -> deadline -> progress -> submitted -> rejected -> resubmitted -> accepted ->
written off -> revisit rebounded -> reopened -> fixed -> accepted -> written off -> revisit held.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from ducha.cli import service_specs
from ducha.contracts import Actor, Role
from ducha.kernel.clock import ManualClock
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import problem_filter
from ducha.testing.plugin import ServiceHarness, run_service

OFFICE = Actor(id="office-1", name="督查办王主任", role=Role.OFFICE)
UNIT = Actor(id="u-001", name="城关区联络员", role=Role.UNIT, unit_id="U001")
OTHER_UNIT = Actor(id="u-002", name="七里河区联络员", role=Role.UNIT, unit_id="U002")
EVIDENCE = [{"ref": "sha256:" + "ab" * 32, "name": "整改后现场照片"}]


class Flow:
    """Sends commands as an actor and makes every later request wait for the previous write."""

    def __init__(self, services: dict[str, ServiceHarness]) -> None:
        self.svc = services
        self.seq = 0

    async def post(self, service: str, who: Actor, path: str, body: Any = None, expect: int = 200) -> dict[str, Any]:
        h = self.svc[service]
        r = await h.client.post(
            path, json=body, params={"min_sequence": self.seq} if self.seq else None,
            headers=h.headers(who, **{"Idempotency-Key": uuid.uuid4().hex}),
        )
        assert r.status_code in (expect, 201 if expect == 200 else expect), f"{path}: {r.status_code} {r.text}"
        data: dict[str, Any] = r.json()
        self.seq = max(self.seq, int(data.get("sequence") or 0))
        return data

    async def get(self, service: str, who: Actor, path: str, **params: Any) -> httpx.Response:
        h = self.svc[service]
        return await h.client.get(path, params={"min_sequence": self.seq, **params}, headers=h.headers(who))

    async def until(self, service: str, who: Actor, path: str, check: Any, timeout: float = 10) -> dict[str, Any]:
        """Poll a query until `check(body)` holds: for effects of another service's reaction."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.get(service, who, path)
            if r.status_code == 200 and check(r.json()):
                return dict(r.json())
            assert asyncio.get_running_loop().time() < deadline, f"{path}: {r.status_code} {r.text}"
            await asyncio.sleep(0.05)


async def test_one_problem_through_its_whole_life_across_three_services(
    nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai
    specs = service_specs()
    async with (
        run_service(specs["intake"], nats_server.url, tmp_path / "intake", keys, clock=clock) as intake,
        run_service(specs["rectification"], nats_server.url, tmp_path / "rect", keys, clock=clock) as rect,
        run_service(specs["verification"], nats_server.url, tmp_path / "ver", keys, clock=clock) as ver,
    ):
        f = Flow({"intake": intake, "rectification": rect, "verification": ver})

        # --- planning (intake)
        for uid, name in [("U001", "城关区人民政府"), ("U002", "七里河区人民政府")]:
            await f.post("intake", OFFICE, "/v1/units", {"id": uid, "name": name, "kind": "district"})
        for pid, name in [("P-L1", "李组长"), ("P-M1", "张组员")]:
            await f.post("intake", OFFICE, "/v1/persons", {"id": pid, "name": name, "role": "team"})
        round_id = (await f.post("intake", OFFICE, "/v1/rounds", {
            "number": 2, "name": "2026年第二轮常态化大督查", "starts_on": "2026-03-01", "ends_on": "2026-03-08",
            "focus_areas": ["重大项目建设", "招商引资"], "revisit_after_days": 30}))["id"]
        team_id = (await f.post("intake", OFFICE, "/v1/teams", {
            "round_id": round_id, "name": "第一督查督导组", "leader_id": "P-L1", "member_ids": ["P-M1"]}))["id"]
        await f.post("intake", OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U001", "U002"]})
        member = Actor(id="P-M1", name="张组员", role=Role.TEAM, team_id=team_id)
        content_id = (await f.post("intake", member, "/v1/contents", {
            "round_id": round_id, "title": "重大项目推进情况", "description": "检查重大项目开工情况",
            "focus_area": "重大项目建设", "unit_ids": ["U001", "U002"]}))["id"]
        await f.post("intake", OFFICE, f"/v1/contents/{content_id}/approve", {"note": "同意"})

        # --- reported -> fed back (intake)
        problem = (await f.post("intake", member, "/v1/problems", {
            "content_id": content_id, "unit_id": "U001", "title": "重点项目开工滞后",
            "description": "某重大项目计划2月开工，至今未开工", "category": "重大项目建设", "severity": "general",
            "location": "城关区某工地", "found_on": "2026-03-02", "found_by": "on_site", "publishable": True}))["id"]
        assert (await f.get("intake", UNIT, f"/v1/problems/{problem}")).status_code == 404  # not yet fed back
        await f.post("intake", member, f"/v1/problems/{problem}/feed-back",
                     {"responsible_person": "张副区长", "responsible_person_title": "副区长"})
        assert (await f.get("intake", UNIT, f"/v1/problems/{problem}")).json()["status"] == "fed_back"
        assert (await f.get("intake", OTHER_UNIT, f"/v1/problems/{problem}")).status_code == 404

        # --- deadline -> progress -> submitted (rectification)
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/deadline",
                     {"deadline": "2026-03-20", "plan": "3月10日前完成审批，3月20日前开工"})
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/progress",
                     {"percent": 50, "text": "审批手续已办结", "evidence": EVIDENCE})
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/submission",
                     {"description": "项目已开工", "evidence": EVIDENCE})

        # --- rejected (verification) -> reopened (rectification reacts) -> resubmitted
        await f.post("verification", member, f"/v1/problems/{problem}/review",
                     {"submission_no": 1, "outcome": "reject", "reasons": ["开工证明材料不全"]})
        await f.until("rectification", UNIT, f"/v1/problems/{problem}",
                      lambda b: "开工证明材料不全" in str(b) and b.get("status", b.get("ledger", {}).get("status")) != "submitted")
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/submission",
                     {"description": "补充施工许可证和开工报告", "evidence": EVIDENCE})

        # --- accepted -> written off -> revisit rebounded (verification)
        await f.until("verification", member, f"/v1/problems/{problem}", lambda b: "2" in str(b.get("submissions", "")) or b.get("stage") == "submitted")
        await f.post("verification", member, f"/v1/problems/{problem}/review", {
            "submission_no": 2, "outcome": "accept", "effectiveness": "good", "assessment": "项目已实质开工"})
        first = await f.post("verification", member, f"/v1/problems/{problem}/write-off")
        assert first["ledger_no"] == 1
        clock.advance(timedelta(days=30))
        await f.post("verification", member, f"/v1/problems/{problem}/revisit",
                     {"outcome": "rebounded", "findings": "回访发现项目再次停工"})

        # --- reopened (rectification reacts) -> fixed -> accepted -> written off -> held
        await f.until("rectification", UNIT, f"/v1/problems/{problem}", lambda b: "回访发现项目再次停工" in str(b))
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/deadline",
                     {"deadline": "2026-04-30", "plan": "复工并落实长效机制", "reason": "回访反弹后重新整改"})
        await f.post("rectification", UNIT, f"/v1/problems/{problem}/submission",
                     {"description": "已复工，建立周调度机制", "evidence": EVIDENCE})
        await f.until("verification", member, f"/v1/problems/{problem}", lambda b: b.get("stage") == "submitted")
        await f.post("verification", member, f"/v1/problems/{problem}/review", {
            "submission_no": 3, "outcome": "accept", "effectiveness": "fair", "assessment": "已复工，机制已建立"})
        second = await f.post("verification", member, f"/v1/problems/{problem}/write-off")
        assert second["ledger_no"] == 2  # a new ledger line, never reusing a number
        clock.advance(timedelta(days=30))
        await f.post("verification", member, f"/v1/problems/{problem}/revisit",
                     {"outcome": "held", "findings": "项目持续施工，未反弹"})

        # --- every service's projection tells the same story
        v = (await f.get("verification", OFFICE, f"/v1/problems/{problem}")).json()
        assert v["stage"] == "held"
        r = (await f.get("rectification", UNIT, f"/v1/problems/{problem}")).json()
        assert "written_off" in str(r)
        i = (await f.get("intake", OFFICE, f"/v1/problems/{problem}")).json()
        assert i["status"] == "fed_back" and i["unit_id"] == "U001"

        stats = (await f.get("verification", OFFICE, "/v1/stats", by="unit", round_id=round_id)).json()
        total = stats["total"]
        assert total["reported"] == 1 and total["fed_back"] == 1 and total["written_off"] == 1
        assert total["submissions"] == 3 and total["rejections"] == 1 and total["rebounds"] == 1
        assert total["rectification_rate"] == 1.0 and total["held"] == 1
        ranking = (await f.get("verification", OFFICE, "/v1/ranking", round_id=round_id)).json()
        assert "U001" in str(ranking)

        # --- and the log holds the whole history of the problem, in order, across contexts
        history = [e async for e in intake.kernel.store.read_subject(problem_filter("U001", problem))]
        kinds = [e.event_type for e in history]
        expected = ["IssueReported", "IssueFedBack", "DeadlineSet", "ProgressReported", "RectificationSubmitted",
                    "RectificationRejected", "RectificationReopened", "RectificationSubmitted",
                    "RectificationVerified", "ProblemWrittenOff", "RevisitRecorded", "RectificationReopened",
                    "DeadlineSet", "RectificationSubmitted", "RectificationVerified", "ProblemWrittenOff",
                    "RevisitRecorded"]
        assert kinds == expected, kinds
        assert {e.context for e in history} == {"intake", "rectification", "verification"}
