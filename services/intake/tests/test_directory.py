"""Directory: units, helper departments and persons, one by one and imported from sheets."""

from __future__ import annotations

import io

from intake_support import CADRE, HELPER, OFFICE, PUBLIC, Api, error, team_member, unit_user
from openpyxl import Workbook


async def test_office_registers_units_helpers_and_persons_and_everyone_but_the_public_lists_units(api: Api) -> None:
    await api.ok(OFFICE, "/v1/units", {"id": "U001", "name": "城关区人民政府", "kind": "district",
                                       "contact_name": "刘主任", "contact_phone": "0931-1234567"})
    await api.ok(OFFICE, "/v1/units", {"id": "E001", "name": "兰州某建设集团", "kind": "enterprise",
                                       "parent_id": "U001"})
    await api.ok(OFFICE, "/v1/helpers", {"id": "H001", "name": "市发展和改革委员会"})
    await api.ok(OFFICE, "/v1/persons", {"id": "P001", "name": "李明", "role": "team", "title": "副厅级"})
    units = (await api.get(HELPER, "/v1/units")).json()
    assert units["total"] == 2
    enterprise = next(u for u in units["items"] if u["id"] == "E001")
    assert enterprise["parent_id"] == "U001" and enterprise["kind_label"] == "企业"
    assert (await api.get(unit_user("U001"), "/v1/units/U001")).json()["contact_name"] == "刘主任"
    assert (await api.get(CADRE, "/v1/helpers")).json()["items"][0]["name"] == "市发展和改革委员会"
    assert (await api.get(OFFICE, "/v1/persons", role="team")).json()["items"][0]["title"] == "副厅级"
    assert (await api.get(PUBLIC, "/v1/units")).status_code == 403
    assert (await api.get(unit_user("U001"), "/v1/persons")).status_code == 403
    assert (await api.get(OFFICE, "/v1/units/U404")).status_code == 404


async def test_only_the_office_may_register_directory_entries(api: Api) -> None:
    for who in (team_member("T1"), unit_user("U001"), CADRE, PUBLIC):
        r = await api.post(who, "/v1/units", {"id": "U001", "name": "城关区", "kind": "district"})
        assert r.status_code == 403 and "may not" in error(r)["message"]
    r = await api.post(team_member("T1"), "/v1/persons", {"id": "P1", "name": "某人", "role": "team"})
    assert r.status_code == 403


async def test_registering_an_existing_unit_id_with_a_new_command_is_a_conflict(api: Api) -> None:
    await api.ok(OFFICE, "/v1/units", {"id": "U001", "name": "城关区", "kind": "district"})
    r = await api.post(OFFICE, "/v1/units", {"id": "U001", "name": "另一个", "kind": "district"})
    assert r.status_code == 409 and "already registered" in error(r)["message"]


async def test_repeating_a_registration_with_the_same_idempotency_key_returns_the_first_result_and_writes_nothing(
    api: Api,
) -> None:
    body = {"id": "U001", "name": "城关区", "kind": "district"}
    first = await api.post(OFFICE, "/v1/units", body, key="register-U001")
    before = await api.last_log_sequence()
    again = await api.post(OFFICE, "/v1/units", body, key="register-U001")
    assert first.status_code == again.status_code == 201
    assert again.json() == {**first.json(), "replayed": True}
    assert await api.last_log_sequence() == before


async def test_invalid_directory_fields_are_422_naming_the_field(api: Api) -> None:
    r = await api.post(OFFICE, "/v1/units", {"id": "U 001", "name": "城关区", "kind": "district"})
    assert r.status_code == 422 and error(r)["field"] == "id"
    r = await api.post(OFFICE, "/v1/units", {"id": "U001", "name": "城关区", "kind": "village"})
    assert r.status_code == 422 and error(r)["field"] == "kind"
    r = await api.post(OFFICE, "/v1/units", {"id": "U002", "name": "企业", "kind": "enterprise", "parent_id": "U404"})
    assert r.status_code == 422 and error(r)["field"] == "parent_id"
    r = await api.post(OFFICE, "/v1/persons", {"id": "P9", "name": "某人", "role": "unit"})
    assert r.status_code == 422 and error(r)["field"] == "org_id"
    r = await api.post(OFFICE, "/v1/persons", {"id": "P9", "name": "某人", "role": "unit", "org_id": "U404"})
    assert r.status_code == 422 and error(r)["field"] == "org_id"


async def test_office_corrects_a_unit_and_an_unknown_unit_is_404(api: Api) -> None:
    await api.ok(OFFICE, "/v1/units", {"id": "U001", "name": "城关区", "kind": "district"})
    r = await api.put(OFFICE, "/v1/units/U001", {"name": "城关区人民政府", "kind": "district"})
    assert r.status_code == 200
    assert (await api.get(OFFICE, "/v1/units/U001")).json()["name"] == "城关区人民政府"
    r = await api.put(OFFICE, "/v1/units/U404", {"name": "无", "kind": "district"})
    assert r.status_code == 404


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


async def test_importing_a_unit_sheet_accepts_good_rows_and_reports_each_bad_row_with_its_reason(api: Api) -> None:
    data = xlsx([
        ["单位编码", "单位名称", "类型", "上级单位", "联系人", "联系电话"],
        ["U001", "城关区人民政府", "区县", None, "刘主任", 9311234567],
        ["U002", "市住房和城乡建设局", "部门", None, None, None],
        ["E001", "某建设集团", "企业", "U001", None, None],
        [None, None, None, None, None, None],
        ["U001", "重复的城关区", "区县", None, None, None],
        ["U 003", "编码有空格", "区县", None, None, None],
        ["U004", "类型错误", "乡镇", None, None, None],
        ["E002", "上级不存在", "企业", "U999", None, None],
        ["U005", None, "部门", None, None, None],
    ])
    r = await api.upload(OFFICE, "/v1/units/import", "units.xlsx", data, key="units-upload-1")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["total"], report["accepted"], report["rejected"]) == (8, 3, 5)
    rows = {line["row"]: line for line in report["rows"]}
    assert [rows[n]["status"] for n in (2, 3, 4)] == ["accepted"] * 3
    assert rows[6]["status"] == "rejected" and "已存在" in rows[6]["reason"]
    assert rows[7]["field"] == "id" and rows[7]["reason"].startswith("单位编码")
    assert rows[8]["field"] == "kind" and rows[8]["reason"].startswith("类型")
    assert rows[9]["field"] == "parent_id" and "上级单位" in rows[9]["reason"]
    assert rows[10]["field"] == "name" and rows[10]["reason"].startswith("单位名称")
    api.seq = report["sequence"]
    units = (await api.get(OFFICE, "/v1/units")).json()
    assert sorted(u["id"] for u in units["items"]) == ["E001", "U001", "U002"]
    assert next(u for u in units["items"] if u["id"] == "U001")["contact_phone"] == "9311234567"
    before = await api.last_log_sequence()
    again = (await api.upload(OFFICE, "/v1/units/import", "units.xlsx", data, key="units-upload-1")).json()
    assert again["accepted"] == 3 and all(line["replayed"] for line in again["rows"] if line["status"] == "accepted")
    assert await api.last_log_sequence() == before


async def test_importing_helpers_and_persons_from_csv(api: Api) -> None:
    await api.ok(OFFICE, "/v1/units", {"id": "U001", "name": "城关区", "kind": "district"})
    helpers = "部门编码,部门名称,联系人,联系电话\nH001,市发展和改革委员会,王科长,0931-8888888\nH002,,,\n"
    r = await api.upload(OFFICE, "/v1/helpers/import", "helpers.csv", helpers.encode("utf-8-sig"))
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    persons = ("人员编号,姓名,角色,所属单位,职务,电话\nP001,李明,督查组,,副厅级,\nP002,张华,被督查单位,U001,副区长,\n"
               "P003,王芳,市直相关单位,H001,科长,\nP004,赵强,被督查单位,,科员,\nP005,钱多,领导,,,\n")
    r = await api.upload(OFFICE, "/v1/persons/import", "persons.csv", persons.encode("gb18030"))
    report = r.json()
    assert [line["status"] for line in report["rows"]] == ["accepted"] * 3 + ["rejected"] * 2
    assert report["rows"][3]["field"] == "org_id" and report["rows"][4]["field"] == "role"
    api.seq = report["sequence"]
    people = (await api.get(OFFICE, "/v1/persons")).json()["items"]
    assert {p["id"]: p["org_id"] for p in people} == {"P001": None, "P002": "U001", "P003": "H001"}


async def test_a_sheet_without_required_columns_or_of_another_format_is_rejected_as_a_whole(api: Api) -> None:
    r = await api.upload(OFFICE, "/v1/units/import", "units.csv", "名称\n城关区\n".encode())
    assert r.status_code == 422 and error(r)["field"] == "file" and "单位编码" in error(r)["message"]
    r = await api.upload(OFFICE, "/v1/units/import", "units.pdf", b"%PDF-1.4")
    assert r.status_code == 422 and error(r)["field"] == "file"
    r = await api.upload(team_member("T1"), "/v1/units/import", "units.csv", "单位编码,单位名称,类型\n".encode())
    assert r.status_code == 403
