"""Demo data: `python -m ducha_web.demo` fills a fresh system with a realistic city — districts,
departments and enterprises, helper departments, people, four supervision teams, the round
2026年第二轮常态化大督查, approved inspection content, and a few hundred problems at every stage of
their life — entirely through the services' own HTTP APIs, as the people concerned.

    python -m ducha_web.demo [--problems 300] [--seed 7]

Service URLs and the data folder come from the same environment as the workbench
(DUCHA_INTAKE_URL …, DUCHA_DATA_DIR); tokens are minted with the local issuer key.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ducha.contracts.base import Actor, Role
from ducha.kernel.calendar import city_today
from ducha.kernel.clock import SystemClock

from . import city
from .auth import TokenMinter
from .demo_history import history
from .evidence import make_store, owner_scope
from .services import ApiError, Services
from .settings import WebSettings, load_settings

log = logging.getLogger("ducha.web.demo")

PROBLEM_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "重大项目建设": [
        ("{place}项目征地拆迁进度滞后", "项目红线内仍有{n}户未完成签约，影响主体工程开工，未制定倒排工期计划。"),
        ("{place}项目施工许可手续办理缓慢", "项目已具备开工条件，施工许可申报材料反复退补，历时{n}个工作日仍未办结。"),
        ("{place}重点项目现场施工力量不足", "现场实际作业人员仅{n}人，与计划投入严重不符，关键节点工期存在延误风险。"),
        ("{place}项目资金拨付不及时", "项目已完成工程量对应进度款{n}万元尚未拨付，施工单位反映资金压力较大。"),
    ],
    "固定资产投资": [
        ("{place}固定资产投资入库项目储备不足", "今年新入库项目仅{n}个，后续投资增长支撑不足。"),
        ("{place}投资统计数据与实际进度不符", "抽查{n}个项目，统计报送投资额与现场形象进度不一致。"),
        ("{place}专项债券资金使用进度缓慢", "已发行专项债券资金支出率仅{n}%，资金闲置问题突出。"),
    ],
    "招商引资": [
        ("{place}签约项目落地率偏低", "去年签约的{n}个项目中过半尚未开工，跟踪服务机制不健全。"),
        ("{place}招商引资承诺政策兑现不到位", "企业反映承诺的{n}项扶持政策未按期兑现，影响企业投资信心。"),
        ("{place}招商项目前期对接不充分", "{n}个在谈项目缺少用地、能耗等要素保障论证。"),
    ],
    "营商环境优化": [
        ("{place}政务服务事项办理时限超标", "抽查{n}件企业开办事项，部分超出承诺办理时限。"),
        ("{place}涉企检查多头重复", "同一企业一个月内接受{n}次不同部门检查，未落实联合检查要求。"),
        ("{place}企业诉求办理反馈不及时", "12345平台转办的{n}件企业诉求超期未反馈。"),
    ],
    "生态环境保护": [
        ("{place}建筑工地扬尘治理不到位", "现场{n}处裸露土方未覆盖，车辆冲洗设施未正常使用。"),
        ("{place}河道排污口整治进展缓慢", "排查发现的{n}个排污口中仍有部分未完成整治。"),
        ("{place}垃圾中转站周边环境脏乱", "中转站渗滤液外溢，周边{n}米范围内异味明显。"),
    ],
}
PLACES = ["东关片区", "北环路", "高铁新城", "滨河", "老城区", "产业园", "物流园", "西部新区", "开发大道", "南湖"]
PLANS = ["成立整改专班，倒排工期，明确责任人和完成时限，每周调度一次。",
         "制定专项整改方案，分三个阶段推进，确保按期完成并建立长效机制。",
         "主要负责同志牵头，协调相关部门联合推进，逐项销号。"]
PROGRESS = ["已召开专题会议研究部署，整改方案已印发。", "已完成现场排查，正在组织实施整改。",
            "主体整改工作基本完成，正在完善相关资料。", "已协调相关部门解决关键问题，进度明显加快。"]
REJECT_REASONS = ["整改佐证材料不完整，缺少整改前后对比照片。", "现场核查发现问题仍未彻底解决。",
                  "未建立长效机制，存在反弹风险。"]


@dataclass
class Ctx:
    s: Services
    minter: TokenMinter
    rng: random.Random
    today: date
    evidence_store: Any
    tokens: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    sem: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
    seq: int = 0  # the highest log sequence of a write answered so far

    def token(self, actor: Actor) -> str:
        key = f"{actor.id}:{actor.team_id}"
        if key not in self.tokens:
            self.tokens[key] = self.minter.mint(actor)
        return self.tokens[key]

    def count(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1


OFFICE = Actor(id="P0001", name="王志强", role=Role.OFFICE)


def unit_actor(unit_id: str) -> Actor:
    pid = f"P1{unit_id}"
    return Actor(id=pid, name=city.PERSON_NAMES.get(pid, unit_id), role=Role.UNIT, unit_id=unit_id)


def helper_actor(helper_id: str) -> Actor:
    pid = f"P2{helper_id}"
    return Actor(id=pid, name=city.PERSON_NAMES.get(pid, helper_id), role=Role.HELPER, unit_id=helper_id)


async def call(ctx: Ctx, service: str, path: str, actor: Actor, body: Any = None, ok_conflict: bool = False,
               **params: Any) -> Any:
    """A command as `actor`, depending on every write the loader has seen answered (`min_sequence`),
    so no command relies on how soon a service catches up; a 503 (not yet visible, with
    Retry-After) is retried with the same Idempotency-Key (safe to repeat)."""
    key = uuid.uuid4().hex
    params.setdefault("min_sequence", ctx.seq or None)
    for attempt in range(8):
        try:
            out = await ctx.s.post(service, path, ctx.token(actor), body, idempotency_key=key, **params)
        except ApiError as exc:
            if exc.status == 409 and ok_conflict:
                return None
            if exc.status == 503 and attempt < 7:
                await asyncio.sleep(0.3 * (attempt + 1))
                continue
            raise
        if isinstance(out, dict) and isinstance(out.get("sequence"), int):
            ctx.seq = max(ctx.seq, out["sequence"])
        return out
    return None


def demo_image(text: str, color: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (640, 420), color)
    draw = ImageDraw.Draw(img)
    font: Any = None
    for path in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"):
        try:
            font = ImageFont.truetype(path, 36)
            break
        except OSError:
            continue
    draw.rectangle((20, 20, 620, 400), outline=(255, 255, 255), width=4)
    draw.text((50, 180), text, fill=(255, 255, 255), font=font or ImageFont.load_default())
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def evidence(ctx: Ctx, label: str, owner: Actor) -> list[dict[str, str]]:
    color = ctx.rng.choice([(46, 139, 87), (31, 78, 121), (178, 34, 34), (106, 61, 154)])
    data = demo_image(label[:14], color)
    stored = await ctx.evidence_store.put(data, f"{label}.png", "image/png", owner_scope(owner))
    return [{"ref": stored.ref, "name": f"{label}.png"}]


# ------------------------------------------------------------------------------- the city
async def directory(ctx: Ctx) -> None:
    for uid, name, kind, parent in city.UNITS:
        await call(ctx, "intake", "/v1/units", OFFICE, {"id": uid, "name": name, "kind": kind, "parent_id": parent,
                                                       "contact_name": city.PERSON_NAMES.get(f"P1{uid}", "")},
                   ok_conflict=True)
    for hid, name in city.HELPERS:
        await call(ctx, "intake", "/v1/helpers", OFFICE, {"id": hid, "name": name}, ok_conflict=True)
    for pid, name, role, org, title in city.PEOPLE:
        await call(ctx, "intake", "/v1/persons", OFFICE,
                   {"id": pid, "name": name, "role": role, "org_id": org, "title": title}, ok_conflict=True)


HISTORY_DAYS = 40  # the demo round started this long ago: its problems span several weeks


async def open_round(ctx: Ctx) -> str:
    starts = ctx.today - timedelta(days=HISTORY_DAYS)
    out = await call(ctx, "intake", "/v1/rounds", OFFICE, {
        "number": 2, "name": city.ROUND_NAME, "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=6)).isoformat(), "focus_areas": city.FOCUS_AREAS,
        "deadline_commit_days": 3, "max_rectification_days": 90, "severe_max_rectification_days": 30,
        "yellow_days": 3, "revisit_after_days": 30})
    return str(out["id"])


@dataclass
class Team:
    key: str
    id: str
    name: str
    leader: Actor
    members: list[Actor]
    units: list[str]
    contents: dict[str, str] = field(default_factory=dict)  # focus area -> approved content id


async def form_teams(ctx: Ctx, round_id: str) -> list[Team]:
    teams = []
    for key, name, leader, members, units in city.TEAMS:
        out = await call(ctx, "intake", "/v1/teams", OFFICE,
                         {"round_id": round_id, "name": name, "leader_id": leader, "member_ids": members})
        tid = str(out["id"])
        await call(ctx, "intake", f"/v1/teams/{tid}/units", OFFICE, {"unit_ids": units})
        teams.append(Team(key, tid, name,
                          Actor(id=leader, name=city.PERSON_NAMES[leader], role=Role.TEAM, team_id=tid,
                                team_leader=True),
                          [Actor(id=m, name=city.PERSON_NAMES[m], role=Role.TEAM, team_id=tid) for m in members],
                          units))
    return teams


async def contents(ctx: Ctx, round_id: str, teams: list[Team]) -> None:
    for team in teams:
        for area in city.FOCUS_AREAS:
            out = await call(ctx, "intake", "/v1/contents", team.members[0], {
                "round_id": round_id, "title": f"{team.name}{area}专项督查", "focus_area": area,
                "description": f"围绕{area}，对分管单位的推进情况、存在问题和工作机制开展督查。",
                "unit_ids": team.units, "team_id": team.id})
            await call(ctx, "intake", f"/v1/contents/{out['id']}/approve", OFFICE, {"note": "同意"})
            team.contents[area] = str(out["id"])
    # two drafts left waiting for the office's approval (督查内容审批)
    for team in teams[:2]:
        await call(ctx, "intake", "/v1/contents", team.leader, {
            "round_id": round_id, "title": f"{team.name}回头看暗访方案", "focus_area": city.FOCUS_AREAS[0],
            "description": "对第一轮督查发现问题的整改情况开展暗访复查。", "unit_ids": team.units[:2],
            "team_id": team.id})


STAGES = [  # (stage, weight)
    ("reported", 6), ("withdrawn", 1), ("awaiting", 10), ("rectifying", 22), ("yellow", 6), ("help", 4),
    ("extension", 3), ("submitted", 12), ("rejected", 6), ("accepted", 6), ("written_off", 16), ("held", 6),
    ("rebounded", 2),
]


async def problem(ctx: Ctx, round_id: str, team: Team, index: int, stage: str) -> None:
    rng = ctx.rng
    area = rng.choice(city.FOCUS_AREAS)
    unit = rng.choice(team.units)
    title_t, desc_t = rng.choice(PROBLEM_TEMPLATES[area])
    place = rng.choice(PLACES)
    n = rng.randint(3, 60)
    severity = rng.choices(["general", "serious", "severe"], [70, 22, 8])[0]
    reporter = rng.choice(team.members)
    async with ctx.sem:
        body = {"content_id": team.contents[area], "unit_id": unit,
                "title": title_t.format(place=place, n=n)[:100],
                "description": desc_t.format(place=place, n=n), "category": area, "severity": severity,
                "location": f"{city.UNIT_NAMES[unit]}{place}", "found_on": (ctx.today - timedelta(
                    days=rng.randint(4, 12))).isoformat(),
                "found_by": rng.choice(["on_site", "on_site", "unannounced", "dispatch", "public_report"]),
                "publishable": rng.random() < 0.4,
                "evidence": await evidence(ctx, "现场照片", reporter) if rng.random() < 0.3 else []}
        out = await call(ctx, "intake", "/v1/problems", reporter, body)
        pid = str(out["id"])
        ctx.count("reported")
        if stage == "reported":
            return
        if stage == "withdrawn":
            await call(ctx, "intake", f"/v1/problems/{pid}/withdraw", team.leader, {"reason": "经核实不属于本轮督查范围"})
            return
        await call(ctx, "intake", f"/v1/problems/{pid}/feed-back", reporter, {
            "responsible_person": city.PERSON_NAMES.get(f"P1{unit}", "负责人"),
            "responsible_person_title": "分管负责同志", "requirements": "立行立改，按期报送整改情况和佐证材料。"})
        ctx.count("fed_back")
        if stage == "awaiting":
            return
        ua = unit_actor(unit)
        limit = 28 if severity == "severe" else 80
        days = rng.randint(1, 3) if stage == "yellow" else rng.randint(8, limit)
        await call(ctx, "rectification", f"/v1/problems/{pid}/deadline", ua, {
            "deadline": (ctx.today + timedelta(days=days)).isoformat(), "plan": rng.choice(PLANS)})
        if rng.random() < 0.6 or stage in ("submitted", "rejected", "accepted", "written_off", "held", "rebounded"):
            await call(ctx, "rectification", f"/v1/problems/{pid}/progress", ua, {
                "percent": rng.choice([20, 40, 60, 80]), "text": rng.choice(PROGRESS)})
        if rng.random() < 0.15:
            await call(ctx, "rectification", f"/v1/problems/{pid}/reminders", reporter, {
                "kind": "reminder", "text": "请加快整改进度，按期报送整改材料。"})
        if stage == "help":
            out = await call(ctx, "rectification", f"/v1/problems/{pid}/help", ua, {
                "difficulty": "涉及跨部门协调，资金和用地指标需市级层面协调解决。"})
            hid, hname = rng.choice(city.HELPERS)
            await call(ctx, "rectification", f"/v1/problems/{pid}/help/{out['id']}/assign", OFFICE, {
                "helper_id": hid, "helper_name": hname, "note": "请协助解决，不替代单位主体责任"})
            if rng.random() < 0.5:
                await call(ctx, "rectification", f"/v1/problems/{pid}/help/{out['id']}/report", helper_actor(hid), {
                    "text": "已召开协调会，明确资金来源和办理路径。"})
        if stage == "extension":
            await call(ctx, "rectification", f"/v1/problems/{pid}/extensions", ua, {
                "requested_deadline": (ctx.today + timedelta(days=days + 20)).isoformat(),
                "reason": "受汛期施工条件影响，需延长整改时限。"})
        if stage in ("rectifying", "yellow", "help", "extension", "awaiting"):
            return
        await submit(ctx, pid, ua, 1)
        ctx.count("submitted")
        if stage == "submitted":
            return
        if stage == "rejected":
            await review(ctx, pid, team, severity, 1, accept=False)
            ctx.count("rejected")
            return
        await review(ctx, pid, team, severity, 1, accept=True)
        ctx.count("accepted")
        if stage == "accepted":
            return
        await call(ctx, "verification", f"/v1/problems/{pid}/write-off", reporter, {})
        ctx.count("written_off")
        if stage == "written_off":
            return
        outcome = "rebounded" if stage == "rebounded" else "held"
        await call(ctx, "verification", f"/v1/problems/{pid}/revisit", reporter, {
            "outcome": outcome, "findings": "现场回访，整改成果巩固良好。" if outcome == "held"
            else "回访发现问题出现反弹，需重新整改。", "visited_on": ctx.today.isoformat()})
        ctx.count(outcome)


async def submit(ctx: Ctx, pid: str, ua: Actor, no: int) -> None:
    await call(ctx, "rectification", f"/v1/problems/{pid}/submission", ua, {
        "description": "已按整改方案完成整改，建立长效管理机制，现申请验收。",
        "evidence": await evidence(ctx, f"整改后照片{no}", ua) + [{"ref": f"城整改〔2026〕{ctx.rng.randint(10, 99)}号",
                                                            "name": "整改报告文件"}]})


async def review(ctx: Ctx, pid: str, team: Team, severity: str, no: int, accept: bool) -> None:
    body: dict[str, Any] = {"submission_no": no, "outcome": "accept" if accept else "reject"}
    if accept:
        body.update(effectiveness=ctx.rng.choice(["good", "good", "fair"]), assessment="整改措施有力，成效明显。")
    else:
        body["reasons"] = [ctx.rng.choice(REJECT_REASONS)]
    if severity == "severe":  # two steps: a member proposes, the leader confirms
        await call(ctx, "verification", f"/v1/problems/{pid}/review", team.members[0], body)
        await call(ctx, "verification", f"/v1/problems/{pid}/review/confirm", team.leader, {"submission_no": no})
    else:
        await call(ctx, "verification", f"/v1/problems/{pid}/review", ctx.rng.choice(team.members), body)


async def suggestions(ctx: Ctx, round_id: str, teams: list[Team]) -> None:
    texts = [("建议建立重大项目要素保障联席会议制度", "多个项目反映用地、能耗指标协调难，建议由市发改委牵头建立联席会议制度。"),
             ("建议将招商引资政策兑现纳入督查常态", "政策兑现不及时问题较为普遍，建议纳入每轮督查重点。"),
             ("建议统一涉企检查计划", "各部门涉企检查缺乏统筹，建议推行“综合查一次”。")]
    for team, (title, content) in zip(teams, texts, strict=False):
        await call(ctx, "intake", "/v1/suggestions", team.leader, {"title": title, "content": content})


async def setup(settings: WebSettings, seed: int = 7) -> tuple[str, list[Team]]:
    """The city, the round, its teams and approved content (no problems): for the page-load bench."""
    services = Services(settings.service_urls(), timeout=60)
    ctx = Ctx(services, TokenMinter(settings), random.Random(seed), city_today(SystemClock()), make_store(settings))
    try:
        await directory(ctx)
        round_id = await open_round(ctx)
        teams = await form_teams(ctx, round_id)
        await contents(ctx, round_id, teams)
        await suggestions(ctx, round_id, teams)
        return round_id, teams
    finally:
        await services.aclose()


async def run(settings: WebSettings, problems: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    services = Services(settings.service_urls(), timeout=60)
    ctx = Ctx(services, TokenMinter(settings), rng, city_today(SystemClock()), make_store(settings))
    started = time.monotonic()
    try:
        existing = await ctx.s.get("intake", "/v1/rounds", ctx.token(OFFICE), limit=500)
        if any(r.get("name") == city.ROUND_NAME for r in existing.get("items", [])):
            log.info("the demo round exists already: nothing to do")
            return {"skipped_existing": 1, "failures": 0}
        await directory(ctx)
        round_id = await open_round(ctx)
        teams = await form_teams(ctx, round_id)
        await contents(ctx, round_id, teams)
        await suggestions(ctx, round_id, teams)
        # the weeks before today first (older problems get the lower 督办编号), then today's work
        past = await history(settings.nats_url, round_id, 2, (ctx.today - timedelta(days=HISTORY_DAYS)).year, teams, ctx.today,
                             rng, max(8, problems // 3), unit_actor)
        for key, value in past.items():
            ctx.stats[f"past_{key}"] = value
        stages = [s for s, w in STAGES for _ in range(w)]
        rng.shuffle(stages)  # a small demo still has every stage
        jobs = []
        for i in range(problems):
            stage = stages[i % len(stages)] if i < len(stages) else rng.choice(stages)
            jobs.append(problem(ctx, round_id, teams[i % len(teams)], i, stage))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        try:  # one published bulletin for the public page, one draft waiting for the office
            out = await call(ctx, "notify", "/v1/bulletins", OFFICE, {
                "round_id": round_id, "intro": "现将本轮常态化大督查发现问题的整改情况通报如下。"})
            await call(ctx, "notify", f"/v1/bulletins/{out['bulletin_id']}/publish", OFFICE, {})
            await call(ctx, "notify", "/v1/bulletins", OFFICE, {"round_id": round_id, "title": f"关于{city.ROUND_NAME}"
                                                                f"整改进展的第二次通报（草稿）"})
            ctx.count("bulletins")
        except ApiError as exc:
            log.warning("no demo bulletin: %s", exc)
        failures = [r for r in results if isinstance(r, BaseException)]
        for f in failures[:5]:
            log.warning("a demo problem stopped early: %r", f)
        ctx.stats["failures"] = len(failures)
        ctx.stats["seconds"] = int(time.monotonic() - started)
        ctx.stats["round"] = 1
        log.info("demo round %s", round_id)
        return ctx.stats
    finally:
        await services.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ducha_web.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings(auth="demo")  # the demo city is for demo accounts; it only mints tokens
    try:
        stats = asyncio.run(run(settings, args.problems, args.seed))
    except ApiError as exc:
        print(f"error: {exc} — is the system running (`ducha run`) and fresh?", file=sys.stderr)
        return 1
    if stats.get("skipped_existing"):
        print(f"demo data NOT loaded: a round named {city.ROUND_NAME} exists already in this data folder "
              "(start from an empty DUCHA_DATA_DIR to get the demo city)")
        return 0
    print("demo data created:", ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
