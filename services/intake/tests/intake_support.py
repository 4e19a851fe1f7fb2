"""Helpers of the intake tests: actors, a small HTTP helper that reads its own writes, and a
planned world (units, round, teams, approved content). Fixtures live in conftest.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from ducha.contracts import Actor, Role
from ducha.testing.plugin import ServiceHarness

OFFICE = Actor(id="office-1", name="办公室王主任", role=Role.OFFICE)
CADRE = Actor(id="cadre-1", name="干部监督科", role=Role.CADRE)
PUBLIC = Actor(id="public-1", name="市民", role=Role.PUBLIC)
HELPER = Actor(id="helper-1", name="市发改委", role=Role.HELPER, unit_id="H001")


def team_member(team_id: str, ident: str = "P-M1", leader: bool = False) -> Actor:
    return Actor(id=ident, name="督查组成员", role=Role.TEAM, team_id=team_id, team_leader=leader)


def unit_user(unit_id: str) -> Actor:
    return Actor(id=f"user-{unit_id}", name=f"{unit_id}联络员", role=Role.UNIT, unit_id=unit_id)


# Monday 2 March 2026, 09:00 in Shanghai.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Api:
    """Calls the service as an actor; remembers the latest sequence so reads see prior writes."""

    def __init__(self, svc: ServiceHarness) -> None:
        self.svc = svc
        self.seq = 0

    async def post(self, who: Actor, path: str, json: Any = None, key: str | None = None,
                   **kwargs: Any) -> httpx.Response:
        headers = self.svc.headers(who, **{"Idempotency-Key": key or uuid.uuid4().hex})
        headers.update(kwargs.pop("headers", {}))
        params = {"min_sequence": self.seq} if self.seq and "/problems/" in path else None
        r = await self.svc.client.post(path, json=json, headers=headers, params=params, **kwargs)
        self._track(r)
        return r

    async def put(self, who: Actor, path: str, json: Any, key: str | None = None) -> httpx.Response:
        headers = self.svc.headers(who, **{"Idempotency-Key": key or uuid.uuid4().hex})
        r = await self.svc.client.put(path, json=json, headers=headers)
        self._track(r)
        return r

    async def upload(self, who: Actor, path: str, name: str, data: bytes, key: str | None = None,
                     form: dict[str, str] | None = None) -> httpx.Response:
        return await self.post(who, path, files={"file": (name, data)}, data=form or {}, key=key)

    async def get(self, who: Actor, path: str, **params: Any) -> httpx.Response:
        params = {k: v for k, v in params.items() if v is not None}
        if self.seq:
            params.setdefault("min_sequence", self.seq)
        for _ in range(30):  # 503 + Retry-After: not applied yet (a loaded machine); ask again
            r: httpx.Response = await self.svc.client.get(path, params=params, headers=self.svc.headers(who))
            if r.status_code != 503 or not r.headers.get("Retry-After"):
                return r
        return r

    async def ok(self, who: Actor, path: str, json: Any = None, **kw: Any) -> dict[str, Any]:
        r = await self.post(who, path, json, **kw)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def _track(self, r: httpx.Response) -> None:
        if r.status_code < 300 and isinstance(r.json(), dict):
            self.seq = max(self.seq, int(r.json().get("sequence") or 0))

    async def last_log_sequence(self) -> int:
        return int(await self.svc.kernel.store.last_sequence())


def error(r: httpx.Response) -> dict[str, Any]:
    return dict(r.json()["error"])


@dataclass
class World:
    round_id: str
    team_id: str
    content_id: str
    team: Actor
    other_team_id: str
    other_team: Actor


async def open_round(api: Api, **extra: Any) -> str:
    body = {"number": 2, "name": "2026年第二轮常态化大督查", "starts_on": "2026-03-01", "ends_on": "2026-03-08",
            "focus_areas": ["重大项目建设", "固定资产投资", "招商引资"], **extra}
    return str((await api.ok(OFFICE, "/v1/rounds", body))["id"])


async def plan(api: Api, round_id: str, team_units: list[str], content_units: list[str],
               leader: str = "P-L1", name: str = "第一督查督导组") -> tuple[str, str]:
    """A team of the round assigned to `team_units`, with approved content listing `content_units`."""
    team_id = (await api.ok(OFFICE, "/v1/teams", {"round_id": round_id, "name": name, "leader_id": leader}))["id"]
    await api.ok(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": team_units})
    content = await api.ok(team_member(team_id), "/v1/contents", {
        "round_id": round_id, "title": "重大项目推进情况", "description": "检查重大项目开工、投资完成情况",
        "focus_area": "重大项目建设", "unit_ids": content_units})
    await api.ok(OFFICE, f"/v1/contents/{content['id']}/approve", {"note": "同意"})
    return str(team_id), str(content["id"])


async def directory(api: Api) -> None:
    for uid, name, kind in [("U001", "城关区人民政府", "district"), ("U002", "市住建局", "department"),
                            ("U003", "七里河区人民政府", "district")]:
        await api.ok(OFFICE, "/v1/units", {"id": uid, "name": name, "kind": kind})
    for pid, name in [("P-L1", "李组长"), ("P-L2", "赵组长"), ("P-M1", "张组员")]:
        await api.ok(OFFICE, "/v1/persons", {"id": pid, "name": name, "role": "team", "title": "副厅级"})


async def make_world(api: Api) -> World:
    """Round 2 open; team 1 assigned to U001 and U002, approved content listing U001 and U003;
    team 2 assigned to U003 with its own approved content."""
    await directory(api)
    round_id = await open_round(api)
    team_id, content_id = await plan(api, round_id, ["U001", "U002"], ["U001", "U003"])
    other_id, _ = await plan(api, round_id, ["U003"], ["U003"], leader="P-L2", name="第二督查督导组")
    return World(round_id, team_id, content_id, team_member(team_id), other_id, team_member(other_id, "P-X"))


def problem_body(world: World, **extra: Any) -> dict[str, Any]:
    return {"content_id": world.content_id, "unit_id": "U001", "title": "项目开工滞后",
            "description": "某重大项目计划2月开工，至今未开工", "category": "重大项目建设", "severity": "general",
            "location": "城关区某工地", "found_on": "2026-03-02", "found_by": "on_site", "publishable": True,
            **extra}


async def report(api: Api, world: World, **extra: Any) -> str:
    return str((await api.ok(world.team, "/v1/problems", problem_body(world, **extra)))["id"])
