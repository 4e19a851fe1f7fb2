"""Every way out keeps 保密: the disclosure matrix on one running system.

Four services (intake, rectification, verification, notify) on a real nats-server started with
generated department credentials and a real database. One unit (U1) has a problem at each stage
— reported (an unannounced visit), fed back, rectifying (with helper department H1), written off,
withdrawn after feed-back — and another unit (U2) one fed-back problem. Then each viewer (office,
the assigned team, another team, the unit, another unit, the helper department, the public) reads
each outbound path — intake, rectification and verification queries and statistics, the audit
timeline, the department stream over NATS with the department's own credentials, SSE, a webhook
receiver, digests, bulletins' public pages — and what arrives must equal what the disclosure
policy (`ducha.disclosure`) says, computed here from the policy itself.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from ducha.cli import service_specs
from ducha.contracts import Actor, Role
from ducha.disclosure import ProblemFacts, Stage, Viewer, may_publish, may_see_problem
from ducha.kernel.clock import ManualClock
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import ServiceHarness, run_service

OFFICE = Actor(id="office-1", name="督查办王主任", role=Role.OFFICE)
UNIT1 = Actor(id="u-001", name="城关区联络员", role=Role.UNIT, unit_id="U1")
UNIT2 = Actor(id="u-002", name="七里河区联络员", role=Role.UNIT, unit_id="U2")
HELPER = Actor(id="h-001", name="住建局联络员", role=Role.HELPER, unit_id="H1")
PUBLIC = Actor(id="public", name="公众", role=Role.PUBLIC)
EVIDENCE = [{"ref": "sha256:" + "ab" * 32, "name": "整改后现场照片"}]
STAGES = {"PR": Stage.REPORTED, "PF": Stage.FED_BACK, "PX": Stage.RECTIFYING, "PW": Stage.WRITTEN_OFF,
          "PD": Stage.WITHDRAWN}


class World:
    """Ids the services generate (teams, problems) and the actors that depend on them."""

    def __init__(self) -> None:
        self.teams: dict[str, str] = {}  # "T1" -> generated id
        self.problems: dict[str, str] = {}  # "PR" -> generated id

    def member(self, team: str) -> Actor:
        who = {"T1": ("P-M1", "张组员"), "T2": ("P-L2", "赵组长")}[team]
        return Actor(id=who[0], name=who[1], role=Role.TEAM, team_id=self.teams[team], team_leader=team == "T2")

    def viewers(self) -> dict[str, Actor]:
        return {"office": OFFICE, "team (assigned)": self.member("T1"), "team (other)": self.member("T2"),
                "unit (own)": UNIT1, "unit (other)": UNIT2, "helper (assigned)": HELPER, "public": PUBLIC}

    def names(self, real_ids: set[str]) -> set[str]:
        back = {v: k for k, v in self.problems.items()}
        return {back[i] for i in real_ids if i in back and back[i] in STAGES}


W = World()


def policy_facts(pid: str, published: bool = False) -> ProblemFacts:
    stage = STAGES[pid]
    return ProblemFacts(pid, "U1", W.teams["T1"], stage=stage, fed_back=stage != Stage.REPORTED,
                        unannounced=pid in ("PR", "PX"), publishable=True, published=published,
                        helpers={"H1": 1} if pid == "PX" else {})


def viewer(actor: Actor) -> Viewer:
    assigned = {W.teams["T1"]: {"U1"}, W.teams["T2"]: {"U2"}}
    return Viewer.of(actor, assigned.get(actor.team_id or "", set()))


def policy_sees(actor: Actor) -> set[str]:
    return {p for p in STAGES if may_see_problem(viewer(actor), policy_facts(p))}


def ever_told(actor: Actor) -> set[str]:
    """What a stream (told as things happen) carries: every problem the viewer could see at some
    point of its life — the withdrawn one only because it was fed back before."""
    told = set()
    for pid, stage in STAGES.items():
        stages = [Stage.FED_BACK] if pid == "PD" else [stage]
        if any(may_see_problem(viewer(actor), replace(policy_facts(pid), stage=s)) for s in stages):
            told.add(pid)
    return told


class Flow:
    def __init__(self, services: dict[str, ServiceHarness]) -> None:
        self.svc = services
        self.seq = 0

    async def post(self, service: str, who: Actor, path: str, body: Any = None) -> dict[str, Any]:
        h = self.svc[service]
        r = await h.client.post(path, json=body, params={"min_sequence": self.seq} if self.seq else None,
                                headers=h.headers(who, **{"Idempotency-Key": uuid.uuid4().hex}))
        assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"
        data: dict[str, Any] = r.json()
        self.seq = max(self.seq, int(data.get("sequence") or 0))
        return data

    async def get(self, service: str, who: Actor, path: str, **params: Any) -> httpx.Response:
        h = self.svc[service]
        return await h.client.get(path, params={"min_sequence": self.seq, **params}, headers=h.headers(who))

    async def until(self, service: str, who: Actor, path: str, check: Any, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.get(service, who, path)
            if r.status_code == 200 and check(r.json()):
                return
            assert asyncio.get_running_loop().time() < deadline, f"{path}: {r.status_code} {r.text}"
            await asyncio.sleep(0.05)


class Receiver:
    """A real local HTTP receiver for webhooks: records JSON bodies, answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.server: Any = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                headers = {}
                while (h := await reader.readline()) not in (b"\r\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                self.bodies.append(json.loads(await reader.readexactly(int(headers.get("content-length", "0")))))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                del line
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def build_city(f: Flow) -> str:
    """Units, a helper department, two teams, a round; returns the round id."""
    for uid, name in (("U1", "城关区人民政府"), ("U2", "七里河区人民政府")):
        await f.post("intake", OFFICE, "/v1/units", {"id": uid, "name": name, "kind": "district"})
    await f.post("intake", OFFICE, "/v1/helpers", {"id": "H1", "name": "市住建局"})
    for pid, name in (("P-L1", "李组长"), ("P-M1", "张组员"), ("P-L2", "赵组长")):
        await f.post("intake", OFFICE, "/v1/persons", {"id": pid, "name": name, "role": "team"})
    round_id = str((await f.post("intake", OFFICE, "/v1/rounds", {
        "number": 2, "name": "2026年第二轮常态化大督查", "starts_on": "2026-03-01", "ends_on": "2026-03-08",
        "focus_areas": ["重大项目建设"], "revisit_after_days": 30}))["id"])
    for team, leader, members, unit in (("T1", "P-L1", ["P-M1"], "U1"), ("T2", "P-L2", [], "U2")):
        W.teams[team] = str((await f.post("intake", OFFICE, "/v1/teams", {
            "round_id": round_id, "name": f"督查组{team}", "leader_id": leader, "member_ids": members}))["id"])
        await f.post("intake", OFFICE, f"/v1/teams/{W.teams[team]}/units", {"unit_ids": [unit]})
    return round_id


async def report(f: Flow, who: Actor, content: str, unit: str, pid: str, found_by: str = "on_site") -> None:
    W.problems[pid] = str((await f.post("intake", who, "/v1/problems", {
        "content_id": content, "unit_id": unit, "title": f"问题{pid}", "description": "情况说明",
        "category": "重大项目建设", "severity": "general", "location": "某工地", "found_on": "2026-03-02",
        "found_by": found_by, "publishable": True}))["id"])


async def build_problems(f: Flow, round_id: str) -> None:
    contents = {}
    member1, team2 = W.member("T1"), W.member("T2")
    p = W.problems
    for who, unit in ((member1, "U1"), (team2, "U2")):
        cid = (await f.post("intake", who, "/v1/contents", {
            "round_id": round_id, "title": "重大项目推进情况", "description": "检查重大项目开工情况",
            "focus_area": "重大项目建设", "unit_ids": [unit]}))["id"]
        await f.post("intake", OFFICE, f"/v1/contents/{cid}/approve", {"note": "同意"})
        contents[unit] = cid
    for pid in STAGES:
        await report(f, member1, contents["U1"], "U1", pid, "unannounced" if pid in ("PR", "PX") else "on_site")
    await report(f, team2, contents["U2"], "U2", "Q2")
    for pid in ("PF", "PX", "PW", "PD", "Q2"):
        await f.post("intake", team2 if pid == "Q2" else member1, f"/v1/problems/{p[pid]}/feed-back",
                     {"responsible_person": "张副区长"})
    await f.post("intake", member1, f"/v1/problems/{p['PD']}/withdraw", {"reason": "内部原因：与另案重复"})
    for pid in ("PX", "PW"):
        await f.until("rectification", UNIT1, f"/v1/problems/{p[pid]}", lambda b: True)
        await f.post("rectification", UNIT1, f"/v1/problems/{p[pid]}/deadline", {"deadline": "2026-03-20", "plan": "按期整改"})
    help_id = (await f.post("rectification", UNIT1, f"/v1/problems/{p['PX']}/help", {"difficulty": "缺少资金"}))["id"]
    await f.post("rectification", OFFICE, f"/v1/problems/{p['PX']}/help/{help_id}/assign",
                 {"helper_id": "H1", "helper_name": "市住建局"})
    await f.post("rectification", UNIT1, f"/v1/problems/{p['PW']}/submission", {"description": "已整改", "evidence": EVIDENCE})
    await f.until("verification", member1, f"/v1/problems/{p['PW']}", lambda b: b.get("stage") == "submitted")
    await f.post("verification", member1, f"/v1/problems/{p['PW']}/review",
                 {"submission_no": 1, "outcome": "accept", "effectiveness": "good", "assessment": "整改到位"})
    await f.post("verification", member1, f"/v1/problems/{p['PW']}/write-off")


def ids(items: list[dict[str, Any]], key: str = "id") -> set[str]:
    return W.names({str(i[key]) for i in items})


async def query_paths(f: Flow, who: Actor) -> dict[str, set[str] | None]:
    """Problem ids of U1 each query path returns to `who` (None: the path refuses the role)."""
    out: dict[str, set[str] | None] = {}
    r = await f.get("intake", who, "/v1/problems", limit=200)
    out["intake problems"] = ids(r.json()["items"]) if r.status_code == 200 else None
    r = await f.get("rectification", who, "/v1/ledger", limit=200)
    out["rectification ledger"] = ids(r.json()["items"], "problem_id") if r.status_code == 200 else None
    r = await f.get("verification", who, "/v1/problems")
    out["verification problems"] = ids(r.json()["problems"], "problem_id") if r.status_code == 200 else None
    seen = set()
    for pid in STAGES:
        r = await f.get("intake", who, f"/v1/audit/problems/{W.problems[pid]}/timeline", unit="U1")
        assert r.status_code in (200, 403, 404), r.text
        if r.status_code == 403:
            seen = None  # type: ignore[assignment]
            break
        if r.status_code == 200:
            seen.add(pid)
    out["audit timeline"] = seen
    return out


async def dept_stream(url: str, user: Any, consumer: str) -> list[dict[str, Any]]:
    nc = await nats.connect(url, user=user.user, password=user.password, inbox_prefix=user.inbox_prefix)
    try:
        js = nc.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind(durable=consumer, stream="DUCHA_DEPT",
                                           inbox_prefix=f"{user.inbox_prefix}.".encode())
        out = []
        while (pending := (await js.consumer_info("DUCHA_DEPT", consumer)).num_pending) > 0:
            for m in await sub.fetch(min(pending, 100), timeout=10):
                out.append(json.loads(m.data))
                await m.ack_sync()
        return out
    finally:
        await nc.close()


def check_told(events: list[dict[str, Any]], actor: Actor) -> None:
    """A department's stream: exactly the problems it may ever be told about, nothing of a problem
    before its feed-back, the withdrawn one only as a bare notice, no team member of an unannounced
    visit, no internal bookkeeping."""
    told = W.names({e["aggregate_id"] for e in events if e["aggregate_type"] == "problem"})
    assert told == ever_told(actor), (actor.role, actor.unit_id, told)
    for e in events:
        assert not {"command_id", "correlation_id", "prev_hash"} & set(e)
        assert e["unit_id"] in ("U1", None) if actor.unit_id == "U1" else True
        if e["aggregate_id"] in (W.problems["PR"], W.problems["PX"]) and e["actor"]["role"] == "team":
            assert e["actor"]["name"] == "督查组" and e["actor"]["id"] == W.teams["T1"], e
        if e["event_type"] == "IssueWithdrawn":
            assert e["payload"] == {} and e["aggregate_id"] == W.problems["PD"]
    withdrawn = [e["event_type"] for e in events if e["aggregate_id"] == W.problems["PD"]]
    if withdrawn:
        assert withdrawn[-1] == "IssueWithdrawn"
    if actor.role == Role.HELPER:  # from its assignment on (plus the facts it helps with)
        kinds = [e["event_type"] for e in events]
        assert "DeadlineSet" not in kinds and "HelpRequested" not in kinds and "HelperAssigned" in kinds


async def test_every_path_discloses_exactly_what_the_policy_allows(tmp_path: Path, keys: KeyPair,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ducha_notify.natsauth import DepartmentUser, render_authorization

    W.teams.clear()
    W.problems.clear()
    depts = {d: DepartmentUser(f"{kind}-{d}", secrets.token_urlsafe(12), d, d)
             for kind, d in (("unit", "U1"), ("unit", "U2"), ("helper", "H1"))}
    service_pw = secrets.token_urlsafe(12)
    server = NatsServer(store_dir=tmp_path / "js",
                        extra_config=render_authorization(service_pw, list(depts.values()))).start()
    url = server.url.replace("nats://", f"nats://ducha:{service_pw}@")
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    specs = service_specs()
    monkeypatch.setenv("DUCHA_NOTIFY_WEBHOOK_ALLOW", "127.0.0.1/32")  # the local receiver is internal
    receiver = Receiver()
    hook = await receiver.start()
    try:
        async with (
            run_service(specs["intake"], url, tmp_path / "intake", keys, clock=clock) as intake,
            run_service(specs["rectification"], url, tmp_path / "rect", keys, clock=clock) as rect,
            run_service(specs["verification"], url, tmp_path / "ver", keys, clock=clock) as ver,
            run_service(specs["notify"], url, tmp_path / "notify", keys, clock=clock) as notify,
        ):
            f = Flow({"intake": intake, "rectification": rect, "verification": ver, "notify": notify})
            round_id = await build_city(f)
            await f.post("notify", UNIT1, "/v1/webhooks", {"url": hook, "reminders": False})
            await build_problems(f, round_id)
            await f.until("rectification", OFFICE, "/v1/ledger", lambda b: b["total"] >= 5)
            await f.until("verification", OFFICE, f"/v1/problems/{W.problems['PW']}",
                          lambda b: b.get("stage") == "written_off")

            # --- queries, statistics and timelines: each viewer × each path × each stage
            office_view = await query_paths(f, OFFICE)
            for name, who in W.viewers().items():
                got = await query_paths(f, who)
                for path, arrived in got.items():
                    if arrived is None:  # the path refuses this role outright (403)
                        continue
                    domain = office_view[path]
                    assert domain is not None
                    expected = domain & policy_sees(who)
                    assert arrived == expected, (name, path, sorted(arrived), sorted(expected))
            stats = (await f.get("verification", UNIT1, "/v1/stats", by="unit")).json()
            assert stats["total"]["reported"] == len(policy_sees(UNIT1)), stats["total"]  # PR and PD not counted

            # --- digests: a team only of units it is assigned to
            assert (await f.get("notify", W.member("T2"), "/v1/digests/units/U1")).status_code == 403
            assert (await f.get("notify", W.member("T1"), "/v1/digests/units/U1")).status_code == 200

            # --- the department stream over NATS with each department's own credentials
            await notify.kernel.catch_up()
            deadline = asyncio.get_running_loop().time() + 30
            js = notify.kernel.store.js
            from ducha_notify.deptstream.tables import outbox
            from sqlalchemy import func, select
            while True:
                with notify.kernel.engine.connect() as conn:
                    rows = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
                if (await js.stream_info("DUCHA_DEPT")).state.messages == rows:
                    break
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
            streams = {}
            for d, who in (("U1", UNIT1), ("U2", UNIT2), ("H1", HELPER)):
                streams[d] = await dept_stream(server.url, depts[d], f"dept-{d}-1")
                check_told(streams[d], who)

            # --- SSE and the webhook carry the same disclosed events as the unit's NATS stream
            resp = await notify.client.get("/v1/streams/units/U1/events", params={"idle_timeout": 1.5},
                                           headers=notify.headers(UNIT1))
            sse = [json.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: ")]
            assert sse == streams["U1"]
            assert (await notify.client.get("/v1/streams/units/U1/events", params={"limit": 1},
                                            headers=notify.headers(UNIT2))).status_code == 403
            deadline = asyncio.get_running_loop().time() + 30
            while len(receiver.bodies) < len(streams["U1"]):
                assert asyncio.get_running_loop().time() < deadline, (len(receiver.bodies), len(streams["U1"]))
                await asyncio.sleep(0.1)
            assert [b["event"] for b in receiver.bodies] == streams["U1"]

            # --- bulletins and their public page: only fed-back, not withdrawn problems
            bid = (await f.post("notify", OFFICE, "/v1/bulletins", {"round_id": round_id}))["bulletin_id"]
            await f.post("notify", OFFICE, f"/v1/bulletins/{bid}/publish")
            public = (await f.get("notify", PUBLIC, "/v1/public/problems")).json()
            named = W.names({p["problem_id"] for p in public})
            assert named == {p for p in STAGES if may_publish(policy_facts(p))}
            assert named == {p for p in STAGES if may_see_problem(viewer(PUBLIC), policy_facts(p, published=True))}
    finally:
        if receiver.server is not None:
            receiver.server.close()
        server.stop()
