"""Write-off (销号) on the gapless ledger, revisits (回访), rebounds, concurrent write-offs, export."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from typing import Any

import httpx
from ducha.contracts.verification import LedgerEntryRecorded, ProblemWrittenOff, RevisitRecorded
from ducha.kernel.subjects import AggregateKey
from openpyxl import load_workbook

World = Any


async def test_write_off_once_schedules_the_revisit_and_the_revisit_is_recorded_once(world: World) -> None:
    w = world
    await w.problem("P1")
    await w.write_off("P1", status=409)  # nothing accepted
    await w.submit("P1")
    await w.write_off("P1", status=409)  # submitted, not accepted
    await w.accept("P1")
    await w.revisit("P1", status=409)  # not written off yet
    await w.write_off("P1", who=w.UNIT1, status=403)
    await w.write_off("P1", who=w.OTHER_TEAM, status=403)
    w.advance(2)  # 2026-01-07 17:00 local
    done = await w.write_off("P1", who=w.LEADER)
    assert done["ledger_no"] == 1 and done["round_id"] == "R1" and done["id"] == "P1"
    again = await w.write_off("P1", status=409)
    assert "already written off" in again["error"]["message"]
    [_, written] = await w.verification_events("P1")
    assert isinstance(written.payload, ProblemWrittenOff)
    assert written.payload.revisit_due_on == date(2026, 2, 6) and written.payload.submission_no == 1

    due = await w.get("/v1/revisits", w.MEMBER, due_by="2026-02-06")
    assert [r["problem_id"] for r in due["revisits"]] == ["P1"]
    assert (await w.get("/v1/revisits", w.MEMBER, due_by="2026-02-05"))["revisits"] == []
    assert (await w.get("/v1/revisits", w.OTHER_TEAM))["revisits"] == []

    await w.revisit("P1", who=w.UNIT1, status=403)
    future = await w.revisit("P1", visited_on="2026-01-08", status=422)
    assert future["error"]["field"] == "visited_on"
    early = await w.revisit("P1", visited_on="2026-01-06", status=422)
    assert "precede" in early["error"]["message"]
    w.advance(30)
    await w.revisit("P1", "held")
    await w.revisit("P1", "rebounded", status=409)
    view = await w.get("/v1/problems/P1", w.UNIT1)
    assert view["stage"] == "held" and view["ledger"][0]["revisit_outcome"] == "held"
    assert view["ledger"][0]["revisited_on"] == "2026-02-06"


async def test_a_rebound_undoes_the_write_off_and_a_new_acceptance_gets_a_new_number(world: World) -> None:
    w = world
    await w.written_off_problem("P1")
    await w.revisit("P1", "rebounded")
    refused = await w.write_off("P1", status=409)
    assert "since its rebound" in refused["error"]["message"]
    await w.reopen("P1", cause="rebounded")
    await w.submit("P1")
    await w.accept("P1", 2)
    second = await w.write_off("P1")
    assert second["ledger_no"] == 2
    await w.revisit("P1", "held")
    events = await w.verification_events("P1")
    rebound = next(e.payload for e in events if isinstance(e.payload, RevisitRecorded))
    assert rebound.outcome == "rebounded" and rebound.ledger_no == 1
    ledger = await w.get("/v1/rounds/R1/ledger", w.OFFICE)
    assert [(e["ledger_no"], e["submission_no"], e["revisit_outcome"]) for e in ledger["entries"]] == [
        (1, 1, "rebounded"), (2, 2, "held")]
    view = await w.get("/v1/problems/P1", w.OFFICE)
    assert view["rebound_count"] == 1 and view["write_off_count"] == 2 and view["stage"] == "held"


async def test_concurrent_write_offs_get_gapless_unique_ledger_numbers(world: World) -> None:
    w = world
    pids = [f"C{n:02d}" for n in range(15)]
    for n, pid in enumerate(pids):
        unit = ("U1", "U2", "U3")[n % 3]
        await w.problem(pid, unit)
        await w.submit(pid, unit)
        await w.accept(pid)
    # 15 write-offs at once, plus a second, competing write-off of one of them
    responses = await asyncio.gather(*(
        w.client.post(f"/v1/problems/{pid}/write-off", headers=w.svc.headers(who))
        for pid, who in [(pid, w.MEMBER) for pid in pids] + [("C00", w.LEADER)]))
    statuses = [r.status_code for r in responses]
    assert statuses[1:15] == [200] * 14 and sorted([statuses[0], statuses[15]]) == [200, 409], statuses
    results = [r.json() for r in responses if r.status_code == 200]
    assert "already written off" in next(r for r in responses if r.status_code == 409).text
    numbers = sorted(r["ledger_no"] for r in results)
    assert numbers == list(range(1, 16))
    loaded = await w.svc.kernel.store.load(AggregateKey("verification", "ledger", "R1", None))
    lines = [e.payload for e in loaded.events]
    assert all(isinstance(p, LedgerEntryRecorded) for p in lines)
    assert [p.ledger_no for p in lines] == list(range(1, 16))
    assert sorted(p.problem_id for p in lines) == pids
    ledger = await w.get("/v1/rounds/R1/ledger", w.OFFICE)
    assert [e["ledger_no"] for e in ledger["entries"]] == list(range(1, 16))
    by_problem = {e["problem_id"]: e["ledger_no"] for e in ledger["entries"]}
    assert all(by_problem[r["id"]] == r["ledger_no"] for r in results)


async def test_ledger_exports_as_excel_with_chinese_headers(world: World) -> None:
    w = world
    await w.written_off_problem("P1", "U1", title="项目审批超时")
    await w.written_off_problem("P2", "U2", title="招商项目落地慢")
    resp: httpx.Response = await w.get("/v1/rounds/R1/ledger.xlsx", w.OFFICE)
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in resp.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:10] == ("台账编号", "问题编号", "问题标题", "责任单位", "督查组", "问题类别", "严重程度",
                            "验收时间", "销号时间", "整改成效")
    assert rows[1][:5] == (1, "P1", "项目审批超时", "城关区人民政府", "第1督查督导组")
    assert rows[1][7] == "2026-01-05 17:00" and rows[1][9] == "好" and rows[1][12] == "待回访"
    assert rows[2][:4] == (2, "P2", "招商项目落地慢", "市发展和改革委员会")
    # a unit exports only its own lines
    own: httpx.Response = await w.get("/v1/rounds/R1/ledger.xlsx", w.UNIT2)
    unit_rows = list(load_workbook(io.BytesIO(own.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in unit_rows[1:]] == ["P2"]


async def test_ledger_export_writes_a_formula_like_title_as_text(world: World) -> None:
    await world.written_off_problem("P1", "U1", title="@SUM(A1:A9)")
    resp: httpx.Response = await world.get("/v1/rounds/R1/ledger.xlsx", world.OFFICE)
    cell = load_workbook(io.BytesIO(resp.content)).active.cell(row=2, column=3)
    assert cell.data_type == "s" and cell.value == "'@SUM(A1:A9)"
