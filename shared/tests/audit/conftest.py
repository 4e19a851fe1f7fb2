"""A scripted history through the kernel's CommandRunner (intake, rectification and verification
contracts), used by the audit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from ducha.contracts import Actor, Role, registry
from ducha.contracts.common import EvidenceRef, FoundBy, Severity, UnitKind
from ducha.contracts.intake import (
    IssueAmended,
    IssueFedBack,
    IssueReported,
    RoundOpened,
    TeamFormed,
    UnitRegistered,
)
from ducha.contracts.rectification import (
    DeadlineChange,
    DeadlineSet,
    ProgressReported,
    RectificationSubmitted,
)
from ducha.contracts.verification import (
    Effectiveness,
    LedgerEntryRecorded,
    ProblemWrittenOff,
    RectificationRejected,
    RectificationVerified,
)
from ducha.kernel.clock import ManualClock
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import EventStore
from ducha.kernel.subjects import AggregateKey
from nats.aio.client import Client as NATS

OFFICE = Actor(id="office-1", name="督查办王主任", role=Role.OFFICE)
TEAM = Actor(id="team-1-lead", name="第一组李组长", role=Role.TEAM, team_id="T1", team_leader=True)
UNIT1 = Actor(id="u1-contact", name="城关区张科长", role=Role.UNIT, unit_id="U1")
UNIT2 = Actor(id="u2-contact", name="发改委赵科长", role=Role.UNIT, unit_id="U2")
DAY = date(2026, 3, 2)


@dataclass
class History:
    nc: NATS
    store: EventStore
    runner: CommandRunner
    clock: ManualClock
    sequences: dict[str, int] = field(default_factory=dict)  # label -> last sequence

    async def run(self, label: str, key: AggregateKey, actor: Actor, *payloads: object) -> int:
        self.clock.advance(timedelta(minutes=7))
        result = await self.runner.run(key, CommandContext(actor), lambda _loaded: list(payloads))
        self.sequences[label] = result.last_sequence
        return result.last_sequence


def problem(unit: str, pid: str, context: str = "intake") -> AggregateKey:
    return AggregateKey(context, "problem", pid, unit)


def reported(round_id: str, title: str) -> IssueReported:
    return IssueReported(
        round_id=round_id, team_id="T1", content_id="C1", title=title, description=f"{title}：现场发现",
        category="重大项目建设", severity=Severity.GENERAL, found_on=DAY, found_by=FoundBy.ON_SITE,
        evidence=(EvidenceRef(ref="sha256:" + "a" * 64, name="现场照片"),), publishable=True,
    )


def fed_back() -> IssueFedBack:
    return IssueFedBack(
        responsible_person="张科长", commit_deadline_by=DAY + timedelta(days=3),
        max_deadline=DAY + timedelta(days=90), fed_back_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
    )


async def build_history(nc: NATS) -> History:
    store = EventStore(nc, registry)
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    h = History(nc, store, CommandRunner(store, clock, "audit-test"), clock)
    for rid, number in (("R1", 1), ("R2", 2)):
        await h.run(f"round {rid}", AggregateKey("intake", "round", rid), OFFICE, RoundOpened(
            number=number, name=f"第{number}轮常态化大督查", starts_on=DAY, ends_on=DAY + timedelta(days=6),
            focus_areas=("重大项目建设",)))
    for uid, name in (("U1", "城关区人民政府"), ("U2", "市发展改革委")):
        await h.run(f"unit {uid}", AggregateKey("intake", "unit", uid, uid), OFFICE,
                    UnitRegistered(name=name, kind=UnitKind.DISTRICT))
    await h.run("team T1", AggregateKey("intake", "team", "T1"), OFFICE, TeamFormed(
        round_id="R1", name="第一督查督导组", leader_id="team-1-lead", leader_name="李组长"))
    for i in range(1, 7):
        unit, rid = ("U1" if i % 2 else "U2"), ("R1" if i <= 4 else "R2")
        await h.run(f"report P{i}", problem(unit, f"P{i}"), TEAM, reported(rid, f"问题{i}：项目进度滞后"))
    await h.run("amend P1", problem("U1", "P1"), TEAM, IssueAmended(reason="补充现场照片", severity=Severity.SERIOUS))
    for i in range(1, 5):
        await h.run(f"feedback P{i}", problem("U1" if i % 2 else "U2", f"P{i}"), TEAM, fed_back())
    rect = problem("U1", "P1", "rectification")
    ver = problem("U1", "P1", "verification")
    evidence = (EvidenceRef(ref="sha256:" + "b" * 64, name="整改前后对比照片"),)
    await h.run("deadline P1", rect, UNIT1, DeadlineSet(
        deadline=DAY + timedelta(days=30), change=DeadlineChange.COMMITTED, plan="倒排工期，每周调度"))
    await h.run("progress P1", rect, UNIT1, ProgressReported(percent=50, text="已完成主体施工"))
    await h.run("submit P1", rect, UNIT1, RectificationSubmitted(
        submission_no=1, description="项目已复工", evidence=evidence))
    await h.run("reject P1", ver, TEAM, RectificationRejected(
        submission_no=1, reasons=("缺少施工日志", "照片无拍摄时间")))
    await h.run("resubmit P1", rect, UNIT1, RectificationSubmitted(
        submission_no=2, description="补充施工日志和带时间照片", evidence=evidence))
    await h.run("verify P1", ver, TEAM, RectificationVerified(
        submission_no=2, effectiveness=Effectiveness.GOOD, assessment="整改到位"))
    await h.run("ledger R1", AggregateKey("verification", "ledger", "R1"), TEAM,
                LedgerEntryRecorded(ledger_no=1, problem_id="P1", unit_id="U1", submission_no=2))
    await h.run("write off P1", ver, TEAM, ProblemWrittenOff(
        round_id="R1", ledger_no=1, revisit_due_on=DAY + timedelta(days=60), submission_no=2))
    await h.run("deadline P2", problem("U2", "P2", "rectification"), UNIT2, DeadlineSet(
        deadline=DAY + timedelta(days=20), change=DeadlineChange.COMMITTED))
    await h.run("amend P2", problem("U2", "P2"), TEAM, IssueAmended(reason="更正地点", location="新区"))
    return h


@pytest.fixture
async def history(nc: NATS) -> History:
    return await build_history(nc)


TEST_AUDIT_KEY = "a5" * 32


@pytest.fixture(autouse=True)
def audit_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The office's audit key for every audit test (never a key file in the working folder)."""
    monkeypatch.setenv("DUCHA_AUDIT_KEY", TEST_AUDIT_KEY)
    return TEST_AUDIT_KEY
