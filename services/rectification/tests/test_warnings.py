"""Warnings (红黄绿灯): the light rules, and yellow/red/commitment events exactly once, at the right
time, across a restart and with two instances."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from ducha.testing.plugin import drop_schema, fresh_database_url, run_service
from ducha_rectification.app import spec
from ducha_rectification.domain.lights import light
from ducha_rectification.jobs import tick
from ducha_rectification.read.queries import light_expr
from ducha_rectification.read.tables import problems
from rect_support import OFFICE, UNIT1, Client, Upstream, clock

D = date(2026, 3, 20)


@pytest.mark.parametrize(
    ("status", "deadline", "commit_by", "today", "expected"),
    [
        ("rectifying", D, None, D - timedelta(days=4), "green"),
        ("rectifying", D, None, D - timedelta(days=3), "yellow"),
        ("rectifying", D, None, D, "yellow"),  # due today: not yet missed
        ("rectifying", D, None, D + timedelta(days=1), "red"),
        ("awaiting_commitment", None, D, D, "green"),
        ("awaiting_commitment", None, D, D + timedelta(days=1), "red"),
        ("submitted", D, None, D + timedelta(days=9), None),
        ("written_off", D, None, D + timedelta(days=9), None),
    ],
)
def test_light_rules(status: str, deadline: date | None, commit_by: date | None, today: date,
                     expected: str | None) -> None:
    assert light(status, deadline, 3, commit_by, today) == expected


async def test_sql_light_agrees_with_the_rule(up: Upstream, http: Client) -> None:
    await up.problem("P1")
    await up.problem("P2")
    assert (await http.commit("P1", up.today() + timedelta(days=6))).status_code == 200
    seq = (await http.commit("P2", up.today() + timedelta(days=2))).json()["sequence"]
    await http.ledger(OFFICE, min_sequence=seq)
    for offset in range(10):
        today = up.today() + timedelta(days=offset)
        with up.kernel.engine.connect() as conn:
            rows = conn.execute(problems.select().add_columns(light_expr(today).label("sql_light"))).all()
        for r in rows:
            assert r.sql_light == light(r.status, r.deadline, r.yellow_days, r.commit_deadline_by, today)


async def test_yellow_then_red_once_each_at_the_right_time(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1")
    deadline = up.today() + timedelta(days=5)
    seq = (await http.commit("P1", deadline)).json()["sequence"]
    await http.ledger(UNIT1, min_sequence=seq)
    clock_ = svc.kernel.clock

    assert await tick(svc.kernel) == []  # 5 days left: green
    clock_.advance(timedelta(days=1))  # 4 days left: still green
    assert await tick(svc.kernel) == []
    clock_.advance(timedelta(days=1))  # 3 days left: yellow
    written = await tick(svc.kernel)
    assert [r.events[0].event_type for r in written] == ["DeadlineApproaching"]
    assert written[0].events[0].payload.days_left == 3
    seq = written[0].last_sequence
    row = (await http.ledger(UNIT1, min_sequence=seq))["items"][0]
    assert row["light"] == "yellow" and row["days_left"] == 3
    assert await tick(svc.kernel) == []  # once

    clock_.set(clock_.now().replace(hour=15, minute=59))  # 23:59 in Shanghai on the deadline day
    clock_.advance(timedelta(days=3))
    assert await tick(svc.kernel) == []  # due today is not missed
    clock_.advance(timedelta(minutes=2))  # 00:01 the next day in Shanghai
    written = await tick(svc.kernel)
    assert [r.events[0].event_type for r in written] == ["DeadlineMissed"]
    assert await tick(svc.kernel) == []
    row = (await http.ledger(UNIT1, min_sequence=written[0].last_sequence))["items"][0]
    assert row["light"] == "red" and row["days_left"] == -1 and row["overdue_days"] == 1
    assert [r["problem_id"] for r in (await http.ledger(OFFICE, light="red"))["items"]] == ["P1"]
    assert (await http.ledger(OFFICE, light="green"))["total"] == 0
    assert (await up.types("P1")).count("DeadlineMissed") == 1

    # An extension gives a new deadline: its own warnings come again, once.
    rid = (await http.post(UNIT1, "/v1/problems/P1/extensions",
                           {"requested_deadline": (up.today() + timedelta(days=2)).isoformat(),
                            "reason": "设备未到"})).json()["id"]
    from rect_support import TEAM1

    seq = (await http.post(TEAM1, f"/v1/problems/P1/extensions/{rid}/grant", {})).json()["sequence"]
    await http.ledger(UNIT1, min_sequence=seq)
    assert [r.events[0].event_type for r in await tick(svc.kernel)] == ["DeadlineApproaching"]
    assert await tick(svc.kernel) == []


async def test_a_submitted_problem_gets_no_warning(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1")
    assert (await http.commit("P1", up.today() + timedelta(days=1))).status_code == 200
    seq = (await http.submit("P1")).json()["sequence"]
    await http.ledger(UNIT1, min_sequence=seq)
    svc.kernel.clock.advance(timedelta(days=10))
    assert await tick(svc.kernel) == []


async def test_missing_the_commitment_date_is_recorded_once(svc: Any, up: Upstream, http: Client) -> None:
    seq = await up.problem("P1", commit_days=3)
    await http.ledger(OFFICE, min_sequence=seq)
    svc.kernel.clock.advance(timedelta(days=3))
    assert await tick(svc.kernel) == []
    svc.kernel.clock.advance(timedelta(days=1))
    written = await tick(svc.kernel)
    assert [r.events[0].event_type for r in written] == ["DeadlineCommitmentMissed"]
    assert await tick(svc.kernel) == []
    row = (await http.ledger(OFFICE, min_sequence=written[0].last_sequence))["items"][0]
    assert row["commitment_missed"] and row["light"] == "red" and row["deadline"] is None
    # Committing late is still possible (and turns the light green).
    assert (await http.commit("P1", up.today() + timedelta(days=20))).status_code == 200


async def _count(up: Upstream, event_type: str) -> int:
    return (await up.types("P1")).count(event_type)


async def test_restart_across_the_deadline_reports_the_miss_once(
    nats_server: Any, tmp_path: Path, keys: Any
) -> None:
    database = fresh_database_url(tmp_path, "restart")
    the_clock = clock()
    try:
        async with run_service(spec(), nats_server.url, tmp_path, keys, clock=the_clock, database=database) as svc:
            up, http = Upstream(svc), Client(svc)
            await up.world()
            await up.problem("P1")
            deadline = up.today() + timedelta(days=10)
            assert (await http.commit("P1", deadline)).status_code == 200
        # Down while the deadline passes (and the yellow days with it).
        the_clock.advance(timedelta(days=12))
        async with run_service(spec(), nats_server.url, tmp_path, keys, clock=the_clock, database=database) as svc:
            up = Upstream(svc)
            # The background job scans at start: no tick from the test.
            await up.wait_until(lambda: _count(up, "DeadlineMissed"))
            assert await tick(svc.kernel) == []
            await asyncio.sleep(0.2)
            assert await _count(up, "DeadlineMissed") == 1
            assert await _count(up, "DeadlineApproaching") == 0  # red supersedes a missed yellow
            missed = (await up.events("P1"))[-1]
            assert missed.payload.deadline == deadline and missed.occurred_at == the_clock.now()
        async with run_service(spec(), nats_server.url, tmp_path, keys, clock=the_clock, database=database) as svc:
            up = Upstream(svc)
            assert await tick(svc.kernel) == []
            assert await _count(up, "DeadlineMissed") == 1
    finally:
        drop_schema(*database)


async def test_two_instances_ticking_write_each_warning_once(nats_server: Any, tmp_path: Path, keys: Any) -> None:
    database = fresh_database_url(tmp_path, "shared")
    the_clock = clock()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    try:
        async with (
            run_service(spec(), nats_server.url, tmp_path / "a", keys, clock=the_clock, database=database) as a,
            run_service(spec(), nats_server.url, tmp_path / "b", keys, clock=the_clock, database=database) as b,
        ):
            up, http = Upstream(a), Client(a)
            await up.world()
            for i in range(5):
                await up.problem(f"P{i}")
                r = await http.commit(f"P{i}", up.today() + timedelta(days=1 + i))
                assert r.status_code == 200
            seq = r.json()["sequence"]
            assert await a.kernel.wait_for(seq) and await b.kernel.wait_for(seq)
            the_clock.advance(timedelta(days=3))  # P0, P1 red; P2..P4 yellow (3..5 days before: 0..2 left)
            results = await asyncio.gather(*(tick(k) for k in (a.kernel, b.kernel, a.kernel, b.kernel)))
            written = [e.event_type for batch in results for r in batch for e in r.events]
            assert sorted(written) == ["DeadlineApproaching"] * 3 + ["DeadlineMissed"] * 2
            for i in range(5):
                types = [e.event_type for e in await up.events(f"P{i}")]
                assert types.count("DeadlineMissed") + types.count("DeadlineApproaching") == 1
    finally:
        drop_schema(*database)
