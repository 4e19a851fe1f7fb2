"""The ledger as an Excel file: Chinese headers, one row per problem, scoped like the ledger."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from ducha_rectification.jobs import tick
from openpyxl import load_workbook
from rect_support import OFFICE, TEAM1, UNIT1, Client, Upstream


async def test_ledger_exports_as_xlsx_with_chinese_headers(svc: Any, up: Upstream, http: Client) -> None:
    await up.problem("P1", title="重大项目开工滞后")
    await up.problem("P2", title="招商引资项目未落地")
    await up.problem("P3", unit="U2", team="T2", title="固定资产投资统计不实")
    today = up.today()
    assert (await http.commit("P1", today + timedelta(days=2))).status_code == 200
    assert (await http.commit("P2", today + timedelta(days=30))).status_code == 200
    assert (await http.post(UNIT1, "/v1/problems/P2/progress", {"percent": 40, "text": "推进中"})).status_code == 200
    assert (await http.submit("P2")).status_code == 200
    await up.reject("P2", 1, "佐证不足")
    await up.wait_until(lambda: _reopened(up))
    svc.kernel.clock.advance(timedelta(days=3))  # P1 overdue by one day
    seq = (await tick(svc.kernel))[-1].last_sequence

    resp = await http.get(OFFICE, "/v1/ledger.xlsx", min_sequence=seq)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "整改台账" in unquote(resp.headers["content-disposition"])
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[0]
    for name in ("督办编号", "问题标题", "责任单位", "督查组", "整改时限", "状态", "红黄绿灯", "剩余/超期天数",
                 "整改进度", "最近退回原因"):
        assert name in header
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_id) == {"P1", "P2", "P3"}
    assert rows[1][0] == "P1"  # red first; unnumbered (reported before 督办编号): the id stands in
    assert by_id["P1"]["红黄绿灯"] == "红灯" and by_id["P1"]["剩余/超期天数"] == "超期1天"
    assert by_id["P1"]["责任单位"] == "城关区人民政府" and by_id["P1"]["督查组"] == "第一督查督导组"
    assert by_id["P1"]["整改时限"] == (today + timedelta(days=2)).isoformat() and by_id["P1"]["状态"] == "整改中"
    assert by_id["P2"]["最近退回原因"] == "佐证不足" and by_id["P2"]["整改进度"] == "40%"
    assert by_id["P2"]["红黄绿灯"] == "绿灯" and by_id["P2"]["剩余/超期天数"] == "剩余27天"
    assert by_id["P3"]["整改时限"] == "未承诺" and by_id["P3"]["状态"] == "待承诺时限"

    # The same scope as the ledger: a unit exports its own rows, a team its team's.
    mine = load_workbook(io.BytesIO((await http.get(UNIT1, "/v1/ledger.xlsx")).content)).active
    assert [r[0] for r in mine.iter_rows(min_row=2, values_only=True)] == ["P1", "P2"]
    team = load_workbook(io.BytesIO((await http.get(TEAM1, "/v1/ledger.xlsx", light="red")).content)).active
    assert [r[0] for r in team.iter_rows(min_row=2, values_only=True)] == ["P1"]


async def _reopened(up: Upstream) -> bool:
    return "RectificationReopened" in await up.types("P2")


async def test_a_formula_in_a_title_is_exported_as_text(up: Upstream, http: Client) -> None:
    seq = await up.problem("P1", title='=HYPERLINK("http://x","y")')
    resp = await http.get(OFFICE, "/v1/ledger.xlsx", min_sequence=seq)
    ws = load_workbook(io.BytesIO(resp.content)).active
    cell = ws.cell(row=2, column=2)
    assert cell.data_type == "s" and cell.value == """'=HYPERLINK("http://x","y")"""
