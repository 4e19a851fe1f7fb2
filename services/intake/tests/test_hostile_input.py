"""The fuzzer's reproductions (issue 13) answer 4xx naming what is wrong, never 500."""

from __future__ import annotations

import io
import zipfile

from intake_support import OFFICE, Api, error
from test_directory import xlsx


async def test_an_offset_beyond_the_bound_is_refused_naming_it(api: Api) -> None:
    for path in ("/v1/problems", "/v1/units", "/v1/helpers"):
        r = await api.get(OFFICE, path, offset="82397809234088525824")
        assert r.status_code == 422 and error(r)["field"] == "offset", (path, r.text)
    assert (await api.get(OFFICE, "/v1/problems", offset=100_001)).status_code == 422
    assert (await api.get(OFFICE, "/v1/problems", offset=100_000)).status_code == 200


async def test_a_malformed_path_id_is_refused_naming_the_parameter(api: Api) -> None:
    r = await api.post(OFFICE, "/v1/rounds/%C3%BC/close", {"note": "x"})
    assert r.status_code == 422 and error(r)["field"] == "round_id"
    r = await api.post(OFFICE, "/v1/teams/a.b/units", {"unit_ids": ["U001"]})
    assert r.status_code == 422 and error(r)["field"] == "team_id"
    r = await api.get(OFFICE, "/v1/problems/" + "p" * 65)
    assert r.status_code == 422 and error(r)["field"] == "problem_id"


def _with_undefined_entity(data: bytes) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>&undefined;", 1)
            dst.writestr(item, body)
    return out.getvalue()


async def test_a_malformed_spreadsheet_is_refused_saying_what_is_wrong(api: Api) -> None:
    good = xlsx([["单位编码", "单位名称", "类型"], ["U9", "某单位", "district"]])
    bad = _with_undefined_entity(good)
    r = await api.upload(OFFICE, "/v1/units/import", "units.xlsx", bad)
    assert r.status_code == 422 and error(r)["field"] == "file"
    assert "xlsx" in error(r)["message"] and "undefined entity" in error(r)["message"]
    r = await api.upload(OFFICE, "/v1/units/import", "units.xlsx", b"PK\x03\x04 not a zip")
    assert r.status_code == 422 and error(r)["field"] == "file"
