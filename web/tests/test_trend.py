"""The workbench's own projection (the dashboard's trend): counts per round, day and metric, from
the real log through the kernel's runner (real NATS, real database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ducha.contracts.base import Actor, Role
from ducha.contracts.common import FoundBy, Severity
from ducha.contracts.intake import IssueFedBack, IssueReported
from ducha.contracts.rectification import DeadlineMissed
from ducha.kernel.clock import ManualClock
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import run_service
from ducha_web.app import spec
from ducha_web.trend import read_trend, series

TEAM = Actor(id="P0102", name="张敏", role=Role.TEAM, team_id="t1")


def reported(round_id: str) -> IssueReported:
    return IssueReported(round_id=round_id, team_id="t1", content_id="c1", title="问题", description="描述",
                         category="招商引资", severity=Severity.GENERAL, found_on=date(2026, 5, 1),
                         found_by=FoundBy.ON_SITE, publishable=False)


async def test_trend_counts_per_round_and_day(nats_server: Any, tmp_path: Path, keys: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_WEB_AUTH", "demo")  # the workbench starts only with a sign-in setting
    async with run_service(spec(), nats_server.url, tmp_path, keys) as svc:
        kernel = svc.kernel
        day1 = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # 10:00 in the city
        clock = ManualClock(day1)
        runner = CommandRunner(kernel.store, clock, "test")
        last = 0
        for i, rid in enumerate(["R2", "R2", "R1"]):
            key = AggregateKey("intake", "problem", f"p{i}", "D01")
            res = await runner.run(key, CommandContext(actor=TEAM), lambda _l, r=rid: [reported(r)])
            last = res.last_sequence
        clock.set(day1 + timedelta(days=2))
        fed = IssueFedBack(responsible_person="马强", commit_deadline_by=date(2026, 5, 9),
                           max_deadline=date(2026, 8, 1), fed_back_at=clock.now())
        res = await runner.run(AggregateKey("intake", "problem", "p0", "D01"), CommandContext(actor=TEAM),
                               lambda _l: [fed])
        # a rectification event names no round: the projection knows the problem's round
        res = await runner.run(AggregateKey("rectification", "problem", "p0", "D01"),
                               CommandContext(actor=Actor(id="system", role=Role.SYSTEM)),
                               lambda _l: [DeadlineMissed(deadline=date(2026, 5, 5))])
        last = res.last_sequence
        assert await kernel.wait_for(last, timeout=10)
        data = read_trend(kernel.engine, "R2")
        assert data["reported"] == {date(2026, 5, 4): 2}
        assert data["fed_back"] == {date(2026, 5, 6): 1}
        assert data["overdue"] == {date(2026, 5, 6): 1}
        assert read_trend(kernel.engine, "R1")["reported"] == {date(2026, 5, 4): 1}
        days, values = series(data, ["reported", "fed_back"])
        assert days == [date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6)]
        assert values == {"reported": [2, 2, 2], "fed_back": [0, 0, 1]}
        # the kernel's ops endpoints answer for the workbench too
        assert (await svc.client.get("/health")).json() == {"status": "ok", "service": "web"}
