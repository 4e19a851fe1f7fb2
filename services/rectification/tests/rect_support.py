"""Helpers for the rectification tests: actors, a controllable clock, and upstream (intake and
verification) events appended directly to the log, as those services would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ducha.contracts import Actor, DomainEvent
from ducha.contracts import intake as ik
from ducha.contracts import verification as vf
from ducha.contracts.common import EvidenceRef, FoundBy, Severity
from ducha.kernel.clock import ManualClock, new_id
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import actor

# 09:00 in Shanghai on Monday 2 March 2026.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)

OFFICE = actor("office", "o-1", name="办公室张三")
CADRE = actor("cadre", "c-1", name="干部监督李四")
PUBLIC = actor("public", "p-1")
TEAM1 = actor("team", "t-1", name="第一组王五", team_id="T1", team_leader=True)
TEAM2 = actor("team", "t-2", name="第二组赵六", team_id="T2")
UNIT1 = actor("unit", "u-1", name="城关区联络员", unit_id="U1")
UNIT2 = actor("unit", "u-2", name="七里河区联络员", unit_id="U2")
HELPER1 = actor("helper", "h-1", name="市发改委", unit_id="H1")
HELPER2 = actor("helper", "h-2", name="市住建局", unit_id="H2")

EVIDENCE = [{"ref": "sha256:" + "a" * 64, "name": "整改前后对比照片"}]


def clock() -> ManualClock:
    return ManualClock(START)


class Upstream:
    """Appends intake's and verification's events for one service under test."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self.kernel = svc.kernel

    async def append(self, key: AggregateKey, *events: DomainEvent, who: Actor = OFFICE) -> CommandResult:
        return await self.kernel.commands.run(key, CommandContext(who, new_id()), lambda _l: list(events))

    async def world(self) -> int:
        """A round, two teams and three units; returns the last sequence."""
        await self.append(AggregateKey("intake", "round", "R1"), ik.RoundOpened(
            number=2, name="2026年第二轮常态化大督查", starts_on=TODAY, ends_on=TODAY + timedelta(days=7),
            focus_areas=("重大项目建设",), yellow_days=3, max_rectification_days=90,
            severe_max_rectification_days=30))
        for tid, name in (("T1", "第一督查督导组"), ("T2", "第二督查督导组")):
            await self.append(AggregateKey("intake", "team", tid), ik.TeamFormed(
                round_id="R1", name=name, leader_id=f"L{tid}", leader_name="组长"))
        for uid, name in (("U1", "城关区人民政府"), ("U2", "七里河区人民政府")):
            await self.append(AggregateKey("intake", "unit", uid, uid), ik.UnitRegistered(name=name, kind="district"))
        return (await self.append(AggregateKey("intake", "unit", "U3", "U3"),
                                  ik.UnitRegistered(name="市重点项目公司", kind="enterprise"))).last_sequence

    async def problem(
        self, pid: str, unit: str = "U1", team: str = "T1", severity: Severity = Severity.GENERAL,
        fed_back: bool = True, commit_days: int = 3, max_days: int = 60, title: str = "重大项目开工滞后",
    ) -> int:
        key = AggregateKey("intake", "problem", pid, unit)
        result = await self.append(key, ik.IssueReported(
            round_id="R1", team_id=team, content_id="C1", title=title, description="项目未按计划开工",
            category="重大项目建设", severity=severity, found_on=TODAY, found_by=FoundBy.ON_SITE,
            publishable=True), who=TEAM1)
        if fed_back:
            result = await self.feed_back(pid, unit, commit_days, max_days)
        return result.last_sequence

    async def feed_back(self, pid: str, unit: str = "U1", commit_days: int = 3, max_days: int = 60) -> CommandResult:
        today = self.today()
        return await self.append(AggregateKey("intake", "problem", pid, unit), ik.IssueFedBack(
            responsible_person="刘副区长", responsible_person_title="副区长", requirements="限期整改",
            commit_deadline_by=today + timedelta(days=commit_days), max_deadline=today + timedelta(days=max_days),
            fed_back_at=self.kernel.clock.now()), who=TEAM1)

    def today(self) -> date:
        from ducha.kernel.calendar import city_today

        return city_today(self.kernel.clock)

    # ------------------------------------------------------------ verification
    def vkey(self, pid: str, unit: str = "U1") -> AggregateKey:
        return AggregateKey("verification", "problem", pid, unit)

    async def reject(self, pid: str, submission_no: int, *reasons: str, unit: str = "U1") -> CommandResult:
        return await self.append(self.vkey(pid, unit), vf.RectificationRejected(
            submission_no=submission_no, reasons=reasons), who=TEAM1)

    async def verify(self, pid: str, submission_no: int, unit: str = "U1") -> CommandResult:
        return await self.append(self.vkey(pid, unit), vf.RectificationVerified(
            submission_no=submission_no, effectiveness=vf.Effectiveness.GOOD, assessment="整改到位"), who=TEAM1)

    async def write_off(self, pid: str, ledger_no: int = 1, unit: str = "U1") -> CommandResult:
        return await self.append(self.vkey(pid, unit), vf.ProblemWrittenOff(
            round_id="R1", ledger_no=ledger_no, revisit_due_on=self.today() + timedelta(days=30)), who=TEAM1)

    async def revisit(self, pid: str, outcome: vf.RevisitOutcome, findings: str, unit: str = "U1") -> CommandResult:
        return await self.append(self.vkey(pid, unit), vf.RevisitRecorded(
            outcome=outcome, findings=findings, visited_on=self.today()), who=TEAM1)

    # ------------------------------------------------------------------ reading
    async def events(self, pid: str, unit: str = "U1") -> list[Any]:
        loaded = await self.kernel.store.load(AggregateKey("rectification", "problem", pid, unit))
        return list(loaded.events)

    async def types(self, pid: str, unit: str = "U1") -> list[str]:
        return [e.event_type for e in await self.events(pid, unit)]

    async def wait_until(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await check()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.05)


def evidence() -> list[dict[str, str]]:
    return [dict(e) for e in EVIDENCE]


def ev_ref() -> tuple[EvidenceRef, ...]:
    return tuple(EvidenceRef(**e) for e in EVIDENCE)


class Client:
    """Thin HTTP helper: post/get as an actor, with an Idempotency-Key when given."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    async def post(self, who: Actor, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = self.svc.headers(who, **({"Idempotency-Key": key} if key else {}))
        return await self.svc.client.post(path, json=body, headers=headers)

    async def get(self, who: Actor, path: str, **params: Any) -> Any:
        return await self.svc.client.get(path, params=params, headers=self.svc.headers(who))

    async def ledger(self, who: Actor, **params: Any) -> dict[str, Any]:
        resp = await self.get(who, "/v1/ledger", **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def commit(self, pid: str, deadline: date, who: Actor = UNIT1) -> Any:
        return await self.post(who, f"/v1/problems/{pid}/deadline",
                               {"deadline": deadline.isoformat(), "plan": "制定整改方案，倒排工期"})

    async def submit(self, pid: str, who: Actor = UNIT1) -> Any:
        return await self.post(who, f"/v1/problems/{pid}/submission",
                               {"description": "已完成整改", "evidence": evidence()})
