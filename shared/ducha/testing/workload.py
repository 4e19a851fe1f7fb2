"""A generated city: many problems driven through the real services' HTTP APIs, to every stage of
their life. Used by the replay-equals-live test and by `bench/workload_bench.py`."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from ducha.contracts import Actor, Role

from .plugin import ServiceHarness

OFFICE = Actor(id="office-1", name="督查办王主任", role=Role.OFFICE)
EVIDENCE = [{"ref": "sha256:" + "cd" * 32, "name": "整改佐证材料"}]
UNIT_NAMES = ["城关区", "七里河区", "西固区", "安宁区", "红古区", "高新区", "市住建局", "市交通局",
              "市发改委", "市生态环境局", "市教育局", "市卫健委"]
STAGES = ["reported", "fed_back", "deadline", "submitted", "rejected_resubmitted", "written_off",
          "held", "rebounded"]


@dataclass
class WorkloadResult:
    problems: int = 0
    commands: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    last_sequence: int = 0
    resent: int = 0  # commands sent twice at once with one Idempotency-Key


async def _post(h: ServiceHarness, path: str, body: Any, params: dict[str, int] | None,
                headers: dict[str, str]) -> httpx.Response:
    """A command whose connection broke is sent again with the same Idempotency-Key, as a client
    should: it is stored once and the answer is the first run's."""
    for attempt in range(3):
        try:
            answer: httpx.Response = await h.client.post(path, json=body, params=params, headers=headers)
            return answer
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class Driver:
    """Sends the workload's commands. `resend_share` of them go twice at the same moment with the
    same Idempotency-Key (a client retrying on a timeout): both must get the same answer, and only
    one of them may be the first run."""

    def __init__(self, services: dict[str, ServiceHarness], resend_share: float = 0.0, seed: int = 7) -> None:
        self.svc = services
        self.result = WorkloadResult()
        self.resend_share = resend_share
        self.rng = random.Random(seed)

    async def post(self, service: str, who: Actor, path: str, body: Any = None, after: int = 0) -> dict[str, Any]:
        h = self.svc[service]
        headers = h.headers(who, **{"Idempotency-Key": uuid.uuid4().hex})
        params = {"min_sequence": after} if after else None
        copies = 2 if self.rng.random() < self.resend_share else 1
        for _ in range(50):
            answers = await asyncio.gather(*(_post(h, path, body, params, headers) for _ in range(copies)))
            for a in answers:
                if a.status_code >= 500 and not (a.status_code == 503 and a.headers.get("Retry-After")):
                    raise AssertionError(f"{service} {path}: {a.status_code} {a.text}")
            if all(a.status_code != 503 for a in answers):
                break
            await asyncio.sleep(0.05)  # the service has not yet seen an upstream event: retry
        r = answers[0]
        if copies == 2:
            self.result.resent += 1
            _same_answer(f"{service} {path}", answers[0], answers[1])
        if r.status_code not in (200, 201):
            raise AssertionError(f"{service} {path}: {r.status_code} {r.text}")
        self.result.commands += 1
        data: dict[str, Any] = r.json()
        self.result.last_sequence = max(self.result.last_sequence, int(data.get("sequence") or 0))
        return data

    async def wait_stage(self, problem: str, who: Actor, stage: str, after: int) -> None:
        h = self.svc["verification"]
        for _ in range(400):
            r = await h.client.get(f"/v1/problems/{problem}", params={"min_sequence": after}, headers=h.headers(who))
            if r.status_code == 200 and r.json().get("stage") == stage:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"problem {problem} did not reach {stage}")

    async def wait_reopened(self, problem: str, unit: Actor, after: int) -> None:
        """Until rectification's reaction to the rejection has reopened the problem."""
        h = self.svc["rectification"]
        for _ in range(400):
            r = await h.client.get(f"/v1/problems/{problem}", params={"min_sequence": after}, headers=h.headers(unit))
            if r.status_code == 200 and r.json()["reopen_count"] >= 1 and r.json()["status"] != "submitted":
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"problem {problem} was not reopened")


def _same_answer(what: str, one: httpx.Response, two: httpx.Response) -> None:
    """Two sends of one command with one key: the same status and body, at most one first run."""
    assert one.status_code == two.status_code, (what, one.status_code, one.text, two.status_code, two.text)
    a, b = one.json(), two.json()
    if isinstance(a, dict) and "replayed" in a:
        assert [a.pop("replayed"), b.pop("replayed")].count(False) <= 1, (what, "stored twice")
    assert a == b, (what, a, b)


async def plan_city(d: Driver, units: int) -> tuple[str, list[tuple[str, Actor, Actor, str]]]:
    """Units, one round, one team per three units with approved content. Returns the round id and
    (unit id, unit actor, team member actor, content id) per unit."""
    for p in ("P-L", "P-M"):
        for t in range(units // 3 + 1):
            await d.post("intake", OFFICE, "/v1/persons", {"id": f"{p}{t}", "name": f"组员{t}", "role": "team"})
    for i in range(units):
        await d.post("intake", OFFICE, "/v1/units", {
            "id": f"U{i:03d}", "name": f"{UNIT_NAMES[i % len(UNIT_NAMES)]}{i // len(UNIT_NAMES) or ''}",
            "kind": "district" if i % 2 else "department"})
    round_id = (await d.post("intake", OFFICE, "/v1/rounds", {
        "number": 2, "name": "2026年第二轮常态化大督查", "starts_on": "2026-03-01", "ends_on": "2026-03-08",
        "focus_areas": ["重大项目建设", "固定资产投资", "招商引资"], "revisit_after_days": 30}))["id"]
    out = []
    for t in range(0, units, 3):
        members = [f"U{i:03d}" for i in range(t, min(t + 3, units))]
        team = (await d.post("intake", OFFICE, "/v1/teams", {
            "round_id": round_id, "name": f"第{t // 3 + 1}督查督导组", "leader_id": f"P-L{t // 3}",
            "member_ids": [f"P-M{t // 3}"]}))["id"]
        await d.post("intake", OFFICE, f"/v1/teams/{team}/units", {"unit_ids": members})
        member = Actor(id=f"P-M{t // 3}", name="组员", role=Role.TEAM, team_id=team)
        content = (await d.post("intake", member, "/v1/contents", {
            "round_id": round_id, "title": "重点任务推进情况", "description": "检查重大项目、投资和招商引资",
            "focus_area": "重大项目建设", "unit_ids": members}))["id"]
        seq = (await d.post("intake", OFFICE, f"/v1/contents/{content}/approve", {"note": "同意"}))["sequence"]
        for u in members:
            unit_actor = Actor(id=f"user-{u}", name=f"{u}联络员", role=Role.UNIT, unit_id=u)
            out.append((u, unit_actor, member, content))
        d.result.last_sequence = max(d.result.last_sequence, seq)
    return round_id, out


async def one_problem(d: Driver, n: int, stage: str, unit: str, unit_actor: Actor, member: Actor, content: str,
                      after: int) -> None:
    p = await d.post("intake", member, "/v1/problems", {
        "content_id": content, "unit_id": unit, "title": f"问题{n}：项目推进滞后",
        "description": "计划节点未完成，需整改", "category": random.choice(["重大项目建设", "固定资产投资", "招商引资"]),
        "severity": random.choice(["general", "general", "serious"]), "location": "现场",
        "found_on": "2026-03-02", "found_by": random.choice(["on_site", "unannounced", "dispatch"]),
        "publishable": n % 3 != 0}, after)
    pid, seq = p["id"], p["sequence"]
    d.result.problems += 1
    d.result.by_stage[stage] = d.result.by_stage.get(stage, 0) + 1
    if stage == "reported":
        return
    seq = (await d.post("intake", member, f"/v1/problems/{pid}/feed-back", {"responsible_person": "责任人"}, seq))["sequence"]
    if stage == "fed_back":
        return
    seq = (await d.post("rectification", unit_actor, f"/v1/problems/{pid}/deadline",
                        {"deadline": "2026-03-31", "plan": "制定整改方案，按期完成"}, seq))["sequence"]
    seq = (await d.post("rectification", unit_actor, f"/v1/problems/{pid}/progress",
                        {"percent": 60, "text": "正在整改", "evidence": EVIDENCE}, seq))["sequence"]
    if stage == "deadline":
        return
    seq = (await d.post("rectification", unit_actor, f"/v1/problems/{pid}/submission",
                        {"description": "已完成整改", "evidence": EVIDENCE}, seq))["sequence"]
    if stage == "submitted":
        return
    await d.wait_stage(pid, member, "submitted", seq)
    if stage == "rejected_resubmitted":
        seq = (await d.post("verification", member, f"/v1/problems/{pid}/review",
                            {"submission_no": 1, "outcome": "reject", "reasons": ["佐证材料不足"]}, seq))["sequence"]
        await d.wait_reopened(pid, unit_actor, seq)
        seq = (await d.post("rectification", unit_actor, f"/v1/problems/{pid}/submission",
                            {"description": "补充材料", "evidence": EVIDENCE}, seq))["sequence"]
        return
    seq = (await d.post("verification", member, f"/v1/problems/{pid}/review", {
        "submission_no": 1, "outcome": "accept", "effectiveness": "good", "assessment": "整改到位"}, seq))["sequence"]
    seq = (await d.post("verification", member, f"/v1/problems/{pid}/write-off", None, seq))["sequence"]
    if stage == "written_off":
        return
    outcome = "held" if stage == "held" else "rebounded"
    await d.post("verification", member, f"/v1/problems/{pid}/revisit", {"outcome": outcome, "findings": "回访核查"}, seq)


async def run_workload(services: dict[str, ServiceHarness], problems: int, units: int = 12,
                       concurrency: int = 16, seed: int = 7, resend_share: float = 0.0) -> WorkloadResult:
    random.seed(seed)
    d = Driver(services, resend_share, seed)
    _round, slots = await plan_city(d, units)
    after = d.result.last_sequence
    sem = asyncio.Semaphore(concurrency)

    async def go(n: int) -> None:
        unit, unit_actor, member, content = slots[n % len(slots)]
        async with sem:
            await one_problem(d, n, STAGES[n % len(STAGES)], unit, unit_actor, member, content, after)

    await asyncio.gather(*(go(n) for n in range(problems)))
    return d.result
