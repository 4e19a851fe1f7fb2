"""Rounds, inspection content approval and teams."""

from __future__ import annotations

from intake_support import (
    CADRE,
    OFFICE,
    Api,
    World,
    directory,
    error,
    open_round,
    team_member,
    unit_user,
)


async def test_office_opens_and_closes_a_round_and_everyone_but_the_public_sees_it(api: Api) -> None:
    round_id = await open_round(api, deadline_commit_days=5, severe_max_rectification_days=15)
    got = (await api.get(unit_user("U001"), f"/v1/rounds/{round_id}")).json()
    assert got["status"] == "open" and got["focus_areas"][0] == "重大项目建设"
    assert got["deadline_commit_days"] == 5 and got["severe_max_rectification_days"] == 15
    await api.ok(OFFICE, f"/v1/rounds/{round_id}/close", {"note": "现场督查结束"})
    assert (await api.get(CADRE, "/v1/rounds", status="closed")).json()["total"] == 1
    again = await api.post(OFFICE, f"/v1/rounds/{round_id}/close", {})
    assert again.status_code == 409 and "closed" in error(again)["message"]


async def test_only_the_office_opens_or_closes_rounds_and_unknown_rounds_are_404(api: Api) -> None:
    body = {"number": 1, "name": "第一轮", "starts_on": "2026-03-01", "ends_on": "2026-03-07",
            "focus_areas": ["招商引资"]}
    assert (await api.post(team_member("T1"), "/v1/rounds", body)).status_code == 403
    assert (await api.post(OFFICE, "/v1/rounds/nope/close", {})).status_code == 404
    assert (await api.get(OFFICE, "/v1/rounds/nope")).status_code == 404


async def test_a_round_ending_before_it_starts_or_looking_back_on_an_unknown_round_is_422(api: Api) -> None:
    base = {"number": 1, "name": "第一轮", "starts_on": "2026-03-07", "focus_areas": ["招商引资"]}
    r = await api.post(OFFICE, "/v1/rounds", {**base, "ends_on": "2026-03-01"})
    assert r.status_code == 422 and error(r)["field"] == "ends_on"
    r = await api.post(OFFICE, "/v1/rounds", {**base, "ends_on": "2026-03-09", "look_back_of": "R404"})
    assert r.status_code == 422 and error(r)["field"] == "look_back_of"
    r = await api.post(OFFICE, "/v1/rounds", {**base, "ends_on": "2026-03-09", "focus_areas": []})
    assert r.status_code == 422 and error(r)["field"] == "focus_areas"


async def test_a_look_back_round_names_the_earlier_round(api: Api) -> None:
    first = await open_round(api, number=1, starts_on="2026-01-05", ends_on="2026-01-10")
    second = await open_round(api, look_back_of=first)
    assert (await api.get(OFFICE, f"/v1/rounds/{second}")).json()["look_back_of"] == first


async def test_content_is_drafted_by_a_team_returned_with_reasons_revised_and_approved(api: Api) -> None:
    await directory(api)
    round_id = await open_round(api)
    team_id = (await api.ok(OFFICE, "/v1/teams", {"round_id": round_id, "name": "第一组", "leader_id": "P-L1",
                                                  "member_ids": ["P-M1"]}))["id"]
    team = team_member(team_id)
    draft = {"round_id": round_id, "title": "招商引资项目落地", "description": "检查签约项目落地情况",
             "focus_area": "招商引资", "unit_ids": ["U001"]}
    content_id = (await api.ok(team, "/v1/contents", draft))["id"]
    pending = (await api.get(OFFICE, "/v1/contents/pending")).json()
    assert [c["id"] for c in pending["items"]] == [content_id] and pending["items"][0]["team_id"] == team_id
    await api.ok(OFFICE, f"/v1/contents/{content_id}/return", {"reason": "检查范围过窄，请补充单位"})
    got = (await api.get(team, f"/v1/contents/{content_id}")).json()
    assert got["status"] == "returned" and got["return_reason"] == "检查范围过窄，请补充单位"
    revised = {**draft, "unit_ids": ["U001", "U002"]}
    del revised["round_id"]
    await api.ok(team, f"/v1/contents/{content_id}/revise", revised)
    assert (await api.get(OFFICE, "/v1/contents/pending")).json()["total"] == 1
    await api.ok(OFFICE, f"/v1/contents/{content_id}/approve", {"note": "同意"})
    got = (await api.get(OFFICE, f"/v1/contents/{content_id}")).json()
    assert got["status"] == "approved" and got["unit_ids"] == ["U001", "U002"]
    assert (await api.get(OFFICE, "/v1/contents/pending")).json()["total"] == 0
    twice = await api.post(OFFICE, f"/v1/contents/{content_id}/approve", {})
    assert twice.status_code == 409
    late = await api.post(team, f"/v1/contents/{content_id}/revise", revised)
    assert late.status_code == 409 and "approved" in error(late)["message"]


async def test_content_rules_role_scope_and_fields(api: Api, world: World) -> None:
    draft = {"round_id": world.round_id, "title": "固投", "description": "检查固定资产投资",
             "focus_area": "固定资产投资", "unit_ids": ["U001"]}
    r = await api.post(world.team, "/v1/contents", {**draft, "team_id": world.other_team_id})
    assert r.status_code == 403 and "only for itself" in error(r)["message"]
    r = await api.post(unit_user("U001"), "/v1/contents", draft)
    assert r.status_code == 403
    r = await api.post(world.team, "/v1/contents", {**draft, "unit_ids": ["U001", "U404"]})
    assert r.status_code == 422 and error(r)["field"] == "unit_ids"
    r = await api.post(world.team, "/v1/contents", {**draft, "focus_area": "营商环境"})
    assert r.status_code == 422 and error(r)["field"] == "focus_area"
    r = await api.post(OFFICE, "/v1/contents", {**draft, "round_id": "R404"})
    assert r.status_code == 404
    assert (await api.post(world.team, f"/v1/contents/{world.content_id}/approve", {})).status_code == 403
    assert (await api.post(OFFICE, "/v1/contents/C404/approve", {})).status_code == 404
    r = await api.post(world.other_team, f"/v1/contents/{world.content_id}/revise", {k: v for k, v in draft.items()
                                                                                       if k != "round_id"})
    assert r.status_code == 403
    # a team sees only its own content; the office sees all
    assert (await api.get(world.other_team, f"/v1/contents/{world.content_id}")).status_code == 404
    assert (await api.get(world.team, "/v1/contents")).json()["total"] == 1
    assert (await api.get(OFFICE, "/v1/contents", status="approved")).json()["total"] == 2
    assert (await api.get(unit_user("U001"), "/v1/contents")).status_code == 403


async def test_no_content_can_be_drafted_or_approved_in_a_closed_round(api: Api, world: World) -> None:
    draft = {"round_id": world.round_id, "title": "固投", "description": "检查固定资产投资",
             "focus_area": "固定资产投资", "unit_ids": ["U001"]}
    pending = (await api.ok(OFFICE, "/v1/contents", draft))["id"]
    await api.ok(OFFICE, f"/v1/rounds/{world.round_id}/close", {})
    assert (await api.post(OFFICE, "/v1/contents", draft)).status_code == 409
    assert (await api.post(OFFICE, f"/v1/contents/{pending}/approve", {})).status_code == 409


async def test_office_forms_a_team_with_registered_people_and_assigns_it_to_units(api: Api) -> None:
    await directory(api)
    round_id = await open_round(api)
    body = {"round_id": round_id, "name": "第一督查督导组", "leader_id": "P-L1", "member_ids": ["P-M1"]}
    team_id = (await api.ok(OFFICE, "/v1/teams", body))["id"]
    await api.ok(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U001", "U002"]})
    await api.ok(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U002", "U003"]})
    team = (await api.get(team_member(team_id), f"/v1/teams/{team_id}")).json()
    assert team["leader_name"] == "李组长" and team["member_names"] == ["张组员"]
    assert team["unit_ids"] == ["U001", "U002", "U003"]
    assert (await api.get(CADRE, "/v1/teams", round_id=round_id)).json()["total"] == 1
    assert (await api.get(unit_user("U001"), "/v1/teams")).status_code == 403


async def test_team_rules_role_people_units_and_round(api: Api) -> None:
    await directory(api)
    await api.ok(OFFICE, "/v1/persons", {"id": "P-U", "name": "区长", "role": "unit", "org_id": "U001"})
    round_id = await open_round(api)
    body = {"round_id": round_id, "name": "第一组", "leader_id": "P-L1"}
    assert (await api.post(team_member("T1"), "/v1/teams", body)).status_code == 403
    r = await api.post(OFFICE, "/v1/teams", {**body, "leader_id": "P-404"})
    assert r.status_code == 422 and error(r)["field"] == "leader_id"
    r = await api.post(OFFICE, "/v1/teams", {**body, "member_ids": ["P-U"]})
    assert r.status_code == 422 and error(r)["field"] == "member_ids"
    assert (await api.post(OFFICE, "/v1/teams", {**body, "round_id": "R404"})).status_code == 404
    team_id = (await api.ok(OFFICE, "/v1/teams", body))["id"]
    r = await api.post(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U404"]})
    assert r.status_code == 422 and error(r)["field"] == "unit_ids"
    assert (await api.post(OFFICE, "/v1/teams/T404/units", {"unit_ids": ["U001"]})).status_code == 404
    await api.ok(OFFICE, f"/v1/rounds/{round_id}/close", {})
    assert (await api.post(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U001"]})).status_code == 409
    assert (await api.post(OFFICE, "/v1/teams", body)).status_code == 409
