"""Bulk intake of a team's problem sheet, suggestions, and the OpenAPI description."""

from __future__ import annotations

from intake_support import CADRE, OFFICE, Api, World, error, unit_user
from test_directory import xlsx

HEADERS = ["单位编码", "问题标题", "问题描述", "类别", "严重程度", "地点", "发现日期", "发现方式", "可公开",
           "建议整改天数"]


async def test_a_team_s_problem_sheet_becomes_problems_row_by_row_with_the_same_rules(api: Api, world: World) -> None:
    data = xlsx([
        HEADERS,
        ["U001", "项目开工滞后", "某项目未按期开工", "重大项目建设", "一般", "城关区", "2026-03-02", "现场检查", "是", 30],
        ["U001", "签约项目未落地", "签约三个月未落地", "招商引资", "较重", None, "2026/03/01", "暗访", "否", None],
        ["U003", "未分派单位", "本组未分派到该单位", "招商引资", "一般", None, "2026-03-02", "调度", "是", None],
        ["U002", "内容未列单位", "督查内容未列该单位", "招商引资", "一般", None, "2026-03-02", "调度", "是", None],
        ["U001", "类别错误", "不是本轮重点领域", "营商环境", "一般", None, "2026-03-02", "调度", "是", None],
        ["U001", "严重程度错误", "描述", "招商引资", "特别严重", None, "2026-03-02", "调度", "是", None],
        ["U001", "日期错误", "描述", "招商引资", "一般", None, "三月二日", "调度", "是", None],
        ["U001", None, "缺标题", "招商引资", "一般", None, "2026-03-02", "群众反映", "是", None],
    ])
    r = await api.upload(world.team, "/v1/problems/import", "问题清单.xlsx", data, key="sheet-upload-01",
                         form={"content_id": world.content_id})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["total"], report["accepted"], report["rejected"]) == (8, 2, 6)
    rows = {line["row"]: line for line in report["rows"]}
    assert rows[4]["code"] == "forbidden" and "未分派" in rows[4]["reason"]
    assert rows[5]["field"] == "unit_id" and rows[5]["reason"].startswith("单位编码")
    assert rows[6]["field"] == "category" and rows[6]["reason"].startswith("类别")
    assert rows[7]["field"] == "severity" and rows[7]["reason"].startswith("严重程度")
    assert rows[8]["field"] == "found_on" and rows[8]["reason"].startswith("发现日期")
    assert rows[9]["field"] == "title" and rows[9]["reason"].startswith("问题标题")
    api.seq = report["sequence"]
    listed = (await api.get(world.team, "/v1/problems")).json()["items"]
    by_title = {p["title"]: p for p in listed}
    assert set(by_title) == {"项目开工滞后", "签约项目未落地"}
    assert by_title["签约项目未落地"]["found_by"] == "unannounced" and not by_title["签约项目未落地"]["publishable"]
    assert by_title["项目开工滞后"]["suggested_deadline_days"] == 30
    before = await api.last_log_sequence()
    again = await api.upload(world.team, "/v1/problems/import", "问题清单.xlsx", data, key="sheet-upload-01",
                             form={"content_id": world.content_id})
    assert again.json()["accepted"] == 2 and await api.last_log_sequence() == before


async def test_a_problem_sheet_names_its_content_per_row_or_for_the_whole_upload(api: Api, world: World) -> None:
    csv = ("单位编码,督查内容编号,问题标题,问题描述,类别,严重程度,发现日期,发现方式\n"
           f"U001,{world.content_id},标题一,描述,招商引资,一般,2026-03-02,调度\n"
           "U001,,标题二,描述,招商引资,一般,2026-03-02,调度\n")
    report = (await api.upload(world.team, "/v1/problems/import", "sheet.csv", csv.encode())).json()
    assert [line["status"] for line in report["rows"]] == ["accepted", "rejected"]
    assert report["rows"][1]["field"] == "content_id"
    r = await api.upload(OFFICE, "/v1/problems/import", "sheet.csv", csv.encode())
    assert r.status_code == 403


async def test_a_team_records_suggestions_and_the_office_handles_them_once(api: Api, world: World) -> None:
    pid = (await api.ok(world.team, "/v1/problems", {
        "content_id": world.content_id, "unit_id": "U001", "title": "项目开工滞后", "description": "未开工",
        "category": "重大项目建设", "severity": "general", "found_on": "2026-03-02", "found_by": "on_site"}))["id"]
    body = {"title": "建立重大项目周调度机制", "content": "建议市发改委牵头，每周调度一次", "problem_ids": [pid]}
    sid = (await api.ok(world.team, "/v1/suggestions", body))["id"]
    r = await api.post(world.other_team, "/v1/suggestions", body)
    assert r.status_code == 422 and error(r)["field"] == "problem_ids"
    assert (await api.post(unit_user("U001"), "/v1/suggestions", body)).status_code == 403
    listed = (await api.get(world.team, "/v1/suggestions")).json()
    assert listed["total"] == 1 and listed["items"][0]["problem_ids"] == [pid]
    assert listed["items"][0]["round_id"] == world.round_id
    assert (await api.get(world.other_team, "/v1/suggestions")).json()["total"] == 0
    assert (await api.post(world.team, f"/v1/suggestions/{sid}/handle", {"decision": "采纳"})).status_code == 403
    await api.ok(OFFICE, f"/v1/suggestions/{sid}/handle", {"decision": "采纳", "note": "转市发改委落实"})
    got = (await api.get(CADRE, "/v1/suggestions", status="handled")).json()["items"][0]
    assert (got["decision"], got["note"], got["status_label"]) == ("采纳", "转市发改委落实", "已处理")
    again = await api.post(OFFICE, f"/v1/suggestions/{sid}/handle", {"decision": "不予采纳"})
    assert again.status_code == 409
    assert (await api.post(OFFICE, "/v1/suggestions/S404/handle", {"decision": "采纳"})).status_code == 404
    assert (await api.get(unit_user("U001"), "/v1/suggestions")).status_code == 403


async def test_openapi_lists_every_endpoint_with_tags_summary_and_its_errors(api: Api) -> None:
    schema = (await api.svc.client.get("/openapi.json")).json()
    operations = [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/v1/")
                  and path != "/v1/me" for method, op in item.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        assert op.get("tags") and op.get("summary"), (method, path)
        codes = set(op["responses"])
        assert {"401", "403", "404", "422"} <= codes, (method, path, codes)
        if method == "post":
            assert "409" in codes, (method, path)
