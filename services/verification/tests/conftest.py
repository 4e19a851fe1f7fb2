"""Fixtures for the verification tests: the service on real NATS and a real database, and a
`world` that seeds the upstream facts (intake and rectification events appended directly, as those
services would) and drives verification's API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ducha.contracts import Actor, DomainEvent, Role
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts.common import EvidenceRef, FoundBy, Severity, UnitKind
from ducha.kernel.clock import ManualClock
from ducha.kernel.commands import CommandContext
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import ServiceHarness, run_service
from ducha_verification.app import spec

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 17:00 in the city (UTC+8)

OFFICE = Actor(id="office-1", name="办公室张三", role=Role.OFFICE)
CADRE = Actor(id="cadre-1", name="干部监督科", role=Role.CADRE)
MEMBER = Actor(id="m-1", name="组员李四", role=Role.TEAM, team_id="T1")
MEMBER2 = Actor(id="m-2", name="组员王五", role=Role.TEAM, team_id="T1")
LEADER = Actor(id="lead-1", name="组长赵六", role=Role.TEAM, team_id="T1", team_leader=True)
OTHER_TEAM = Actor(id="m-9", name="二组组员", role=Role.TEAM, team_id="T2")
UNIT1 = Actor(id="u-1", name="城关区联络员", role=Role.UNIT, unit_id="U1")
UNIT2 = Actor(id="u-2", name="发改委联络员", role=Role.UNIT, unit_id="U2")
HELPER = Actor(id="h-1", name="住建局", role=Role.HELPER, unit_id="H1")

UNITS = {"U1": "城关区人民政府", "U2": "市发展和改革委员会", "U3": "市投资促进局"}
EVIDENCE = (EvidenceRef(ref="sha256:" + "a" * 64, name="整改前后对比照片"),)


class World:
    OFFICE, CADRE, MEMBER, MEMBER2, LEADER, OTHER_TEAM = OFFICE, CADRE, MEMBER, MEMBER2, LEADER, OTHER_TEAM
    UNIT1, UNIT2, HELPER = UNIT1, UNIT2, HELPER

    def __init__(self, svc: ServiceHarness, clock: ManualClock) -> None:
        self.svc = svc
        self.clock = clock
        self.client: httpx.AsyncClient = svc.client
        self.submissions: dict[str, int] = {}

    # ------------------------------------------------------------- upstream
    async def emit(self, context: str, agg: str, agg_id: str, unit: str | None, *payloads: DomainEvent,
                   actor: Actor = OFFICE) -> int:
        result = await self.svc.kernel.commands.run(
            AggregateKey(context, agg, agg_id, unit), CommandContext(actor), lambda _l: list(payloads))
        return int(result.last_sequence)

    async def setup_round(self, round_id: str = "R1", revisit_after_days: int = 30,
                          teams: dict[str, list[str]] | None = None) -> None:
        for uid, name in UNITS.items():
            await self.emit("intake", "unit", uid, uid, i.UnitRegistered(name=name, kind=UnitKind.DISTRICT))
        await self.emit("intake", "round", round_id, None, i.RoundOpened(
            number=2, name="2026年第二轮常态化大督查", starts_on=date(2026, 1, 5), ends_on=date(2026, 1, 12),
            focus_areas=("重大项目建设", "招商引资"), revisit_after_days=revisit_after_days))
        for n, (team, unit_ids) in enumerate((teams or {"T1": ["U1", "U2", "U3"], "T2": ["U2"]}).items(), 1):
            await self.emit("intake", "team", team, None, i.TeamFormed(
                round_id=round_id, name=f"第{n}督查督导组", leader_id="lead-1", leader_name="组长"),
                i.TeamAssignedToUnits(unit_ids=tuple(unit_ids)))

    async def problem(self, pid: str, unit: str = "U1", team: str = "T1", round_id: str = "R1",
                      severity: str = "general", deadline: date | None = date(2026, 1, 20),
                      fed_back: bool = True, title: str = "项目审批超时") -> int:
        seq = await self.emit("intake", "problem", pid, unit, i.IssueReported(
            round_id=round_id, team_id=team, content_id="C1", title=title, description="审批环节超过承诺时限",
            category="重大项目建设", severity=Severity(severity), found_on=date(2026, 1, 5),
            found_by=FoundBy.ON_SITE, publishable=True))
        if fed_back:
            seq = await self.emit("intake", "problem", pid, unit, i.IssueFedBack(
                responsible_person="王区长", commit_deadline_by=date(2026, 1, 8), max_deadline=date(2026, 4, 5),
                fed_back_at=self.clock.now()))
        if fed_back and deadline is not None:
            seq = await self.deadline(pid, unit, deadline)
        return seq

    async def deadline(self, pid: str, unit: str, deadline: date,
                       change: r.DeadlineChange = r.DeadlineChange.COMMITTED) -> int:
        return await self.emit("rectification", "problem", pid, unit, r.DeadlineSet(deadline=deadline, change=change),
                               actor=UNIT1)

    async def submit(self, pid: str, unit: str = "U1") -> int:
        n = self.submissions.get(pid, 0) + 1
        self.submissions[pid] = n
        return await self.emit("rectification", "problem", pid, unit, r.RectificationSubmitted(
            submission_no=n, description=f"第{n}次整改完成", evidence=EVIDENCE), actor=UNIT1)

    async def reopen(self, pid: str, unit: str = "U1", cause: str = "rejected") -> int:
        return await self.emit("rectification", "problem", pid, unit, r.RectificationReopened(
            cause=r.ReopenCause(cause), reasons=("重新整改",), source_event_id="x"), actor=OFFICE)

    async def missed(self, pid: str, unit: str, deadline: date) -> int:
        return await self.emit("rectification", "problem", pid, unit, r.DeadlineMissed(deadline=deadline))

    # ------------------------------------------------------------------ api
    async def post(self, path: str, who: Actor, body: dict[str, Any] | None = None, status: int = 200,
                   key: str | None = None) -> dict[str, Any]:
        headers = self.svc.headers(who, **({"Idempotency-Key": key} if key else {}))
        resp = await self.client.post(path, json=body or {}, headers=headers)
        assert resp.status_code == status, (path, resp.status_code, resp.text)
        return resp.json()  # type: ignore[no-any-return]

    async def get(self, path: str, who: Actor, status: int = 200, **params: Any) -> Any:
        params.setdefault("min_sequence", await self.svc.kernel.store.last_sequence())
        resp = await self.client.get(path, params=params, headers=self.svc.headers(who))
        assert resp.status_code == status, (path, resp.status_code, resp.text)
        return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else resp

    async def accept(self, pid: str, n: int = 1, who: Actor = MEMBER, status: int = 200) -> dict[str, Any]:
        return await self.post(f"/v1/problems/{pid}/review", who, {
            "submission_no": n, "outcome": "accept", "effectiveness": "good", "assessment": "整改到位，群众满意"},
            status)

    async def reject(self, pid: str, n: int = 1, who: Actor = MEMBER, status: int = 200) -> dict[str, Any]:
        return await self.post(f"/v1/problems/{pid}/review", who, {
            "submission_no": n, "outcome": "reject", "reasons": ["佐证材料不全"]}, status)

    async def write_off(self, pid: str, who: Actor = MEMBER, status: int = 200) -> dict[str, Any]:
        return await self.post(f"/v1/problems/{pid}/write-off", who, None, status)

    async def revisit(self, pid: str, outcome: str = "held", who: Actor = MEMBER, status: int = 200,
                      **extra: Any) -> dict[str, Any]:
        return await self.post(f"/v1/problems/{pid}/revisit", who,
                               {"outcome": outcome, "findings": "现场查看", **extra}, status)

    async def written_off_problem(self, pid: str, unit: str = "U1", **kw: Any) -> dict[str, Any]:
        await self.problem(pid, unit, **kw)
        await self.submit(pid, unit)
        await self.accept(pid, self.submissions[pid])
        return await self.write_off(pid)

    async def verification_events(self, pid: str, unit: str = "U1") -> list[Any]:
        loaded = await self.svc.kernel.store.load(AggregateKey("verification", "problem", pid, unit))
        return list(loaded.events)

    def advance(self, days: float) -> None:
        self.clock.advance(timedelta(days=days))


@pytest.fixture
async def world(nats_server: NatsServer, tmp_path: Path, keys: KeyPair) -> AsyncIterator[World]:
    clock = ManualClock(START)
    async with run_service(spec(), nats_server.url, tmp_path, keys, clock=clock) as svc:
        w = World(svc, clock)
        await w.setup_round()
        yield w
