"""Bulletins: drafted from the statistics, previewed, published (immutable, numbered), rendered as
HTML and .docx identically after a projection rebuild; the public sees only what is published."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ducha.contracts.rectification import DeadlineChange, DeadlineMissed, DeadlineSet
from ducha.contracts.registry import registry
from ducha.contracts.verification import (
    Effectiveness,
    ProblemWrittenOff,
    RectificationRejected,
    RectificationVerified,
)
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.bulletins.render import docx_text, render_docx

from .conftest import (  # type: ignore[import-not-found]
    OFFICE,
    UNIT1,
    fast_settings,
    fed_back_issue,
    issue,
    make_emit,
    seed_directory,
)


def written_off(no: int) -> ProblemWrittenOff:
    return ProblemWrittenOff(round_id="R2", ledger_no=no, revisit_due_on=date(2026, 4, 1), submission_no=1)


def test_a_v1_bulletin_keeps_showing_its_own_percent() -> None:
    row = {"rank": 1, "unit_id": "U1", "unit_name": "城关区人民政府", "problems": 3, "rectified": 1, "overdue": 0,
           "rejected": 0, "rate_percent": 33}
    up = registry.upcast("BulletinPublished", 1, {"number": 1, "issued_on": "2026-01-06",
                                                  "content": {"ranking": [row]}})
    assert up["content"]["ranking"][0]["rate_text"] == "33%" and up["content"]["ranking"][0]["on_time_text"] == ""


async def test_publish_render_rebuild_identical(nats_server: NatsServer, tmp_path: Path, keys: Any) -> None:
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await fed_back_issue(emit, "招商项目落地慢", "P1", "U1")
        await emit(RectificationVerified(submission_no=1, effectiveness=Effectiveness.GOOD, assessment="建立专班，三天办结"),
                   "P1", "U1")
        await emit(written_off(1), "P1", "U1")
        await fed_back_issue(emit, "重大项目开工滞后", "P2", "U1")
        await emit(DeadlineSet(deadline=date(2026, 1, 20), change=DeadlineChange.COMMITTED, plan="倒排工期"), "P2", "U1")
        await emit(DeadlineMissed(deadline=date(2026, 1, 20)), "P2", "U1")
        await fed_back_issue(emit, "内部保密问题", "Q1", "U2", publishable=False)
        await emit(RectificationVerified(submission_no=1, effectiveness=Effectiveness.GOOD, assessment="不公开的经验"),
                   "Q1", "U2")
        await emit(written_off(2), "Q1", "U2")
        await fed_back_issue(emit, "固定资产投资统计不实", "Q2", "U2")
        await emit(RectificationRejected(submission_no=1, reasons=("数据仍不一致",)), "Q2", "U2")
        await emit(issue("尚未交办的问题"), "P3", "U1")  # not fed back: never counted nor named (保密)

        assert (await svc.client.post("/v1/bulletins", json={"round_id": "R2"}, headers=svc.headers(UNIT1))).status_code == 403
        resp = await svc.client.post("/v1/bulletins", json={"round_id": "R2", "intro": "现将有关情况通报如下。"},
                                     headers=svc.headers(OFFICE))
        assert resp.status_code == 201, resp.text
        draft = resp.json()
        content = draft["content"]
        # both 50 % (ducha.figures: written off / fed back); U1 has an overdue problem, so U2 ranks first
        assert [r["unit_id"] for r in content["ranking"]] == ["U2", "U1"]
        assert [r["rate_text"] for r in content["ranking"]] == ["50.0%", "50.0%"]
        assert [r["rank"] for r in content["ranking"]] == [1, 2]
        assert [u["unit_id"] for u in content["poor_units"]] == []  # 50% is not below the 50% line
        assert [g["problem_id"] for g in content["good_practices"]] == ["P1"]  # Q1 is not publishable
        assert {p["problem_id"] for p in content["problems"]} == {"P1", "P2", "Q2"}
        bid = draft["bulletin_id"]
        preview = await svc.client.get(f"/v1/bulletins/{bid}/preview?min_sequence={draft['sequence']}",
                                       headers=svc.headers(OFFICE))
        assert preview.status_code == 200 and "草稿预览" in preview.text
        assert (await svc.client.get("/v1/public/bulletins")).json() == []

        pub = await svc.client.post(f"/v1/bulletins/{bid}/publish", headers=svc.headers(OFFICE))
        assert pub.status_code == 200, pub.text
        assert pub.json()["number"] == 1
        assert (await svc.client.post(f"/v1/bulletins/{bid}/publish", headers=svc.headers(OFFICE))).status_code == 409
        again = await svc.client.post("/v1/bulletins", json={"round_id": "R2", "bulletin_id": bid}, headers=svc.headers(OFFICE))
        assert again.status_code == 409  # a published bulletin never changes
        seq = pub.json()["sequence"]

        listed = (await svc.client.get(f"/v1/public/bulletins?min_sequence={seq}")).json()
        assert [(x["id"], x["number"]) for x in listed] == [(bid, 1)]
        page = await svc.client.get(f"/v1/public/bulletins/{bid}")
        assert "督查通报" in page.text and "第1期" in page.text and "内部保密问题" not in page.text
        problems = (await svc.client.get("/v1/public/problems")).json()
        assert {p["problem_id"] for p in problems} == {"P1", "P2", "Q2"}

        first = (await svc.client.get(f"/v1/public/bulletins/{bid}/docx")).content
        text = docx_text(first)
        assert text[:2] == ["督查通报", "第1期"]
        assert "关于2026年第二轮常态化大督查问题整改情况的通报" in text
        assert any("建立专班" in line for line in text) and not any("内部保密" in line for line in text)
        assert "2|城关区人民政府|2|1|1|50.0%|—|0" in text

        # later statistics change nothing in the published bulletin
        await emit(RectificationVerified(submission_no=2, effectiveness=Effectiveness.FAIR, assessment="补正"), "Q2", "U2")
        runner = svc.kernel.runners["notify_bulletins"]
        await runner.rebuild()
        await runner.catch_up(timeout=10)
        second = (await svc.client.get(f"/v1/public/bulletins/{bid}/docx")).content
        assert second == first
        assert (await svc.client.get(f"/v1/public/bulletins/{bid}")).text == page.text
        # and straight from the event in the log
        loaded = await svc.kernel.store.load(AggregateKey("notify", "bulletin", bid))
        assert render_docx(loaded.events[-1].payload) == first  # type: ignore[arg-type]

        # the next one is 第2期
        resp = await svc.client.post("/v1/bulletins", json={"round_id": "R2", "title": "第二次通报"}, headers=svc.headers(OFFICE))
        pub2 = await svc.client.post(f"/v1/bulletins/{resp.json()['bulletin_id']}/publish", headers=svc.headers(OFFICE))
        assert pub2.json()["number"] == 2
