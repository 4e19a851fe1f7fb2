"""Daily digest per unit and per team: what is due soon, overdue, and rejected; scoped."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ducha.contracts import Actor, Role
from ducha.contracts.intake import IssueFedBack
from ducha.contracts.rectification import DeadlineChange, DeadlineSet
from ducha.contracts.verification import RectificationRejected
from ducha.kernel.clock import ManualClock
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.digest.queries import classify

from .conftest import UNIT1, UNIT2, fast_settings, issue, make_emit, seed_directory  # type: ignore[import-not-found]

TEAM = Actor(id="p-t1", name="赵组长", role=Role.TEAM, team_id="T1")
OTHER_TEAM = Actor(id="p-t9", name="钱组长", role=Role.TEAM, team_id="T9")


def fed_back() -> IssueFedBack:
    return IssueFedBack(responsible_person="张三", commit_deadline_by=date(2026, 1, 9), max_deadline=date(2026, 3, 31),
                        fed_back_at="2026-01-06T10:00:00Z")


def test_problems_are_due_overdue_or_rejected_by_their_deadline() -> None:
    today = date(2026, 1, 20)
    rows = [
        {"deadline": date(2026, 1, 22), "missed_at": None, "rejected_open": False},  # due within 3 days
        {"deadline": date(2026, 1, 19), "missed_at": None, "rejected_open": True},  # overdue and rejected
        {"deadline": date(2026, 2, 20), "missed_at": None, "rejected_open": False},  # nothing to say
        {"deadline": date(2026, 2, 20), "missed_at": "2026-01-01", "rejected_open": False},  # marked missed
    ]
    parts = classify(rows, today)
    assert parts["due"] == [rows[0]] and parts["overdue"] == [rows[1], rows[3]] and parts["rejected"] == [rows[1]]


async def test_unit_and_team_digests_list_due_overdue_and_rejected_within_scope(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    clock = ManualClock()
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys, clock=clock) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        for pid, unit, title, deadline in (("P1", "U1", "审批超时", date(2026, 1, 21)),
                                           ("P2", "U1", "项目停工", date(2026, 1, 15)),
                                           ("P3", "U2", "招商不实", date(2026, 1, 21))):
            await emit(issue(title), pid, unit, actor=TEAM)
            await emit(fed_back(), pid, unit, actor=TEAM)
            await emit(DeadlineSet(deadline=deadline, change=DeadlineChange.COMMITTED, plan="按期整改"), pid, unit)
        last = await emit(RectificationRejected(submission_no=1, reasons=("材料不全",)), "P2", "U1", actor=TEAM)
        params = {"day": "2026-01-19", "min_sequence": last.last_sequence}

        unit = await svc.client.get("/v1/digests/units/U1", params=params, headers=svc.headers(UNIT1))
        assert unit.status_code == 200, unit.text
        body = unit.json()
        assert [i["title"] for i in body["due"]] == ["审批超时"]
        assert [i["title"] for i in body["overdue"]] == ["项目停工"]
        assert [i["title"] for i in body["rejected"]] == ["项目停工"]

        team = (await svc.client.get("/v1/digests/teams/T1", params=params, headers=svc.headers(TEAM))).json()
        assert sorted(i["title"] for i in team["due"]) == ["审批超时", "招商不实"]

        assert (await svc.client.get("/v1/digests/units/U1", params=params, headers=svc.headers(UNIT2))).status_code == 403
        assert (await svc.client.get("/v1/digests/teams/T1", params=params,
                                     headers=svc.headers(OTHER_TEAM))).status_code == 403
