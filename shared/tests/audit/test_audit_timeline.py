"""A problem's timeline across intake, rectification and verification: JSON, table, CSV and the
HTTP router with its scope rules."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ducha.audit.api import audit_router
from ducha.audit.timeline import problem_timeline, render_table, to_csv
from ducha.contracts import Actor, Role
from ducha.kernel.identity import KeyPair
from ducha.kernel.service import ServiceSpec
from ducha.testing.plugin import run_service

from .conftest import TEAM, UNIT1, History


async def test_timeline_of_one_problem(history: History) -> None:
    entries = await problem_timeline(history.store, "U1", "P1")
    types = [e["event_type"] for e in entries]
    assert types == [
        "IssueReported", "IssueAmended", "IssueFedBack", "DeadlineSet", "ProgressReported",
        "RectificationSubmitted", "RectificationRejected", "RectificationSubmitted",
        "RectificationVerified", "ProblemWrittenOff",
    ]
    assert [e["sequence"] for e in entries] == sorted(e["sequence"] for e in entries)
    assert [e["label"] for e in entries][:3] == ["上报问题", "更正问题", "交办问题"]
    rejected = entries[6]
    assert rejected["label"] == "审核验收未通过" and rejected["reasons"] == ["缺少施工日志", "照片无拍摄时间"]
    assert rejected["actor"] == {
        "id": TEAM.id, "name": TEAM.name, "role": "team", "role_label": "督查督导组", "unit_id": None,
        "team_id": "T1", "team_leader": True,
    }
    submitted = entries[5]
    assert submitted["actor"]["unit_id"] == "U1" and submitted["evidence"][0]["name"] == "整改前后对比照片"
    assert entries[1]["reasons"] == ["补充现场照片"] and entries[1]["changes"]["severity"] == "serious"
    assert entries[0]["occurred_at"] < entries[-1]["occurred_at"]

    table = render_table(entries)
    assert "审核验收未通过" in table and "缺少施工日志" in table and "城关区张科长（被督查单位·U1）" in table
    assert len(table.splitlines()) == len(entries) + 2
    parsed = list(csv.reader(io.StringIO(to_csv(entries))))
    assert parsed[0][:3] == ["序号", "时间", "事项"] and len(parsed) == len(entries) + 1


def _spec() -> ServiceSpec:
    return ServiceSpec(name="audittest", title="audit test", default_port=8199, routers=lambda: [audit_router()])


async def test_timeline_api_scope(history: History, nats_server, tmp_path: Path, keys: KeyPair) -> None:  # type: ignore[no-untyped-def]
    async with run_service(_spec(), nats_server.url, tmp_path, keys) as svc:
        url = "/v1/audit/problems/P1/timeline?unit=U1"
        office = Actor(id="o", name="办公室", role=Role.OFFICE)
        cadre = Actor(id="c", name="干部监督", role=Role.CADRE)
        other_team = Actor(id="t2", name="二组", role=Role.TEAM, team_id="T2")
        other_unit = Actor(id="u2", name="二单位", role=Role.UNIT, unit_id="U2")
        helper = Actor(id="h", name="帮扶", role=Role.HELPER, unit_id="H1")
        for who in (office, cadre, TEAM, UNIT1):
            resp = await svc.client.get(url, headers=svc.headers(who))
            assert resp.status_code == 200, (who.role, resp.text)
            assert len(resp.json()["events"]) == 10
        for who in (other_team, other_unit, helper):  # a helper not assigned to it: not there either
            assert (await svc.client.get(url, headers=svc.headers(who))).status_code == 404
        public = Actor(id="p", name="公众", role=Role.PUBLIC)
        assert (await svc.client.get(url, headers=svc.headers(public))).status_code == 403
        resp = await svc.client.get("/v1/audit/problems/NOPE/timeline?unit=U1", headers=svc.headers(office))
        assert resp.status_code == 404
        assert (await svc.client.get(url)).status_code == 401
