"""Problems: reported under the rules, corrected, withdrawn, marked duplicate, fed back; who sees what."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from ducha.kernel.clock import ManualClock
from ducha.testing.eventual import assert_ok, projections_paused, send_at_once
from intake_support import (
    CADRE,
    HELPER,
    OFFICE,
    PUBLIC,
    Api,
    World,
    error,
    plan,
    problem_body,
    report,
    team_member,
    unit_user,
)


async def test_a_team_member_reports_a_problem_and_the_office_and_team_see_it(api: Api, world: World) -> None:
    evidence = [{"ref": "sha256:" + "a" * 64, "name": "现场照片"}]
    pid = await report(api, world, evidence=evidence, suggested_deadline_days=20)
    got = (await api.get(OFFICE, f"/v1/problems/{pid}")).json()
    assert got["status"] == "reported" and got["status_label"] == "已上报"
    assert got["round_id"] == world.round_id and got["team_id"] == world.team_id and got["unit_id"] == "U001"
    assert got["evidence"] == evidence and got["severity_label"] == "一般" and got["found_by_label"] == "现场检查"
    assert (await api.get(world.team, f"/v1/problems/{pid}")).status_code == 200
    assert (await api.get(CADRE, "/v1/problems")).json()["total"] == 1


async def test_team_cannot_report_for_a_unit_it_is_not_assigned_to(api: Api, world: World) -> None:
    r = await api.post(world.team, "/v1/problems", problem_body(world, unit_id="U003"))
    assert r.status_code == 403 and "not assigned" in error(r)["message"]


async def test_a_unit_not_listed_in_the_content_is_422(api: Api, world: World) -> None:
    r = await api.post(world.team, "/v1/problems", problem_body(world, unit_id="U002"))
    assert r.status_code == 422 and error(r)["field"] == "unit_id"


async def test_no_problem_under_content_that_is_not_approved(api: Api, world: World) -> None:
    draft = {"round_id": world.round_id, "title": "招商", "description": "招商引资", "focus_area": "招商引资",
             "unit_ids": ["U001"]}
    pending = (await api.ok(world.team, "/v1/contents", draft))["id"]
    r = await api.post(world.team, "/v1/problems", problem_body(world, content_id=pending))
    assert r.status_code == 409 and "not approved" in error(r)["message"]
    await api.ok(OFFICE, f"/v1/contents/{pending}/return", {"reason": "不清楚"})
    r = await api.post(world.team, "/v1/problems", problem_body(world, content_id=pending))
    assert r.status_code == 409


async def test_no_problem_once_the_round_is_closed(api: Api, world: World) -> None:
    await api.ok(OFFICE, f"/v1/rounds/{world.round_id}/close", {})
    r = await api.post(world.team, "/v1/problems", problem_body(world))
    assert r.status_code == 409 and "closed" in error(r)["message"]


async def test_only_a_member_of_the_content_s_team_reports(api: Api, world: World) -> None:
    for who in (OFFICE, unit_user("U001"), CADRE, HELPER):
        assert (await api.post(who, "/v1/problems", problem_body(world))).status_code == 403
    r = await api.post(world.other_team, "/v1/problems", problem_body(world, unit_id="U003"))
    assert r.status_code == 403 and "another team" in error(r)["message"]
    r = await api.post(team_member("T-unknown"), "/v1/problems", problem_body(world))
    assert r.status_code == 404


async def test_a_team_of_another_round_cannot_report_under_this_round_s_content(api: Api, world: World) -> None:
    body = {"number": 3, "name": "第三轮", "starts_on": "2026-03-01", "ends_on": "2026-03-09",
            "focus_areas": ["重大项目建设"]}
    other_round = (await api.ok(OFFICE, "/v1/rounds", body))["id"]
    team_id = (await api.ok(OFFICE, "/v1/teams", {"round_id": other_round, "name": "三组", "leader_id": "P-L1"}))["id"]
    await api.ok(OFFICE, f"/v1/teams/{team_id}/units", {"unit_ids": ["U001"]})
    # content of round 2 without a team: only the team's round decides
    draft = {"round_id": world.round_id, "title": "通用", "description": "通用内容", "focus_area": "招商引资",
             "unit_ids": ["U001"]}
    content = (await api.ok(OFFICE, "/v1/contents", draft))["id"]
    await api.ok(OFFICE, f"/v1/contents/{content}/approve", {})
    r = await api.post(team_member(team_id), "/v1/problems", problem_body(world, content_id=content))
    assert r.status_code == 403 and "round" in error(r)["message"]


async def test_problem_fields_are_checked_and_named(api: Api, world: World) -> None:
    cases = {
        "category": {"category": "营商环境"},
        "found_on": {"found_on": "2026-03-03"},
        "severity": {"severity": "critical"},
        "found_by": {"found_by": "rumour"},
        "title": {"title": ""},
        "evidence.0.name": {"evidence": [{"ref": "doc-1"}]},
    }
    for field, change in cases.items():
        r = await api.post(world.team, "/v1/problems", problem_body(world, **change))
        assert r.status_code == 422 and error(r)["field"] == field, (field, r.text)
    assert (await api.post(world.team, "/v1/problems", problem_body(world, content_id="C404"))).status_code == 404
    assert (await api.post(world.team, "/v1/problems", problem_body(world, unit_id="U404"))).status_code == 404


async def test_repeating_a_report_with_the_same_idempotency_key_returns_the_first_problem_and_writes_nothing(
    api: Api, world: World,
) -> None:
    first = await api.post(world.team, "/v1/problems", problem_body(world), key="report-0001")
    before = await api.last_log_sequence()
    await api.ok(OFFICE, f"/v1/rounds/{world.round_id}/close", {})  # even after the rules changed
    after_close = await api.last_log_sequence()
    again = await api.post(world.team, "/v1/problems", problem_body(world), key="report-0001")
    assert again.status_code == 201 and again.json() == {**first.json(), "replayed": True}
    assert await api.last_log_sequence() == after_close == before + 1
    assert (await api.get(OFFICE, "/v1/problems")).json()["total"] == 1


async def test_a_unit_sees_its_problem_only_after_feedback_and_never_another_unit_s(api: Api, world: World) -> None:
    mine = await report(api, world)
    await plan(api, world.round_id, ["U003"], ["U003"], leader="P-L1", name="第三组")
    assert (await api.get(unit_user("U001"), f"/v1/problems/{mine}")).status_code == 404
    assert (await api.get(unit_user("U001"), "/v1/problems")).json()["total"] == 0
    await api.ok(world.team, f"/v1/problems/{mine}/feed-back", {"responsible_person": "张副区长"})
    got = await api.get(unit_user("U001"), f"/v1/problems/{mine}")
    assert got.status_code == 200 and got.json()["status"] == "fed_back"
    assert (await api.get(unit_user("U001"), "/v1/problems")).json()["total"] == 1
    assert (await api.get(unit_user("U003"), f"/v1/problems/{mine}")).status_code == 404
    assert (await api.get(unit_user("U003"), "/v1/problems")).json()["total"] == 0
    for who in (HELPER, PUBLIC):
        assert (await api.get(who, "/v1/problems")).status_code == 403


async def test_a_team_sees_its_own_problems_and_those_of_its_units_but_not_others(api: Api, world: World) -> None:
    ours = await report(api, world)
    assert (await api.get(world.other_team, f"/v1/problems/{ours}")).status_code == 404
    assert (await api.get(world.other_team, "/v1/problems")).json()["total"] == 0
    theirs = (await api.ok(world.other_team, "/v1/problems", problem_body(
        world, unit_id="U003", content_id=(await api.get(OFFICE, "/v1/contents", team_id=world.other_team_id)
                                           ).json()["items"][0]["id"])))["id"]
    assert (await api.get(world.team, f"/v1/problems/{theirs}")).status_code == 404
    await api.ok(OFFICE, f"/v1/teams/{world.team_id}/units", {"unit_ids": ["U003"]})
    assert (await api.get(world.team, f"/v1/problems/{theirs}")).status_code == 200


async def test_feedback_sets_the_commitment_date_in_working_days_and_the_latest_deadline(
    api: Api, world: World, clock: ManualClock,
) -> None:
    general = await report(api, world)
    severe = await report(api, world, severity="severe")
    suggested = await report(api, world, suggested_deadline_days=20)
    await api.ok(world.team, f"/v1/problems/{general}/feed-back",
                 {"responsible_person": "张副区长", "responsible_person_title": "副区长", "requirements": "立行立改"})
    got = (await api.get(OFFICE, f"/v1/problems/{general}")).json()
    assert got["commit_deadline_by"] == "2026-03-05"  # Monday + 3 working days
    assert got["max_deadline"] == "2026-05-31"  # + 90 days
    assert got["responsible_person_title"] == "副区长" and got["requirements"] == "立行立改"
    clock.set(datetime(2026, 3, 5, 16, 30, tzinfo=UTC))  # Friday 00:30 in Shanghai
    await api.ok(world.team, f"/v1/problems/{severe}/feed-back", {"responsible_person": "李局长"})
    got = (await api.get(OFFICE, f"/v1/problems/{severe}")).json()
    assert got["commit_deadline_by"] == "2026-03-11"  # Friday + 3 working days: Wednesday
    assert got["max_deadline"] == "2026-04-05"  # severe: + 30 days
    await api.ok(world.team, f"/v1/problems/{suggested}/feed-back", {"responsible_person": "李局长"})
    assert (await api.get(OFFICE, f"/v1/problems/{suggested}")).json()["max_deadline"] == "2026-03-26"
    again = await api.post(world.team, f"/v1/problems/{general}/feed-back", {"responsible_person": "张副区长"})
    assert again.status_code == 409 and "already" in error(again)["message"]


async def test_repeating_a_feedback_with_the_same_idempotency_key_returns_the_first_result_and_writes_nothing(
    api: Api, world: World, clock: ManualClock,
) -> None:
    pid = await report(api, world)
    body = {"responsible_person": "张副区长"}
    first = await api.post(world.team, f"/v1/problems/{pid}/feed-back", body, key="feed-back-0001")
    before = await api.last_log_sequence()
    clock.set(datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
    again = await api.post(world.team, f"/v1/problems/{pid}/feed-back", body, key="feed-back-0001")
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert await api.last_log_sequence() == before
    assert (await api.get(OFFICE, f"/v1/problems/{pid}")).json()["commit_deadline_by"] == "2026-03-05"


async def test_only_the_problem_s_team_feeds_it_back_and_names_a_responsible_person(api: Api, world: World) -> None:
    pid = await report(api, world)
    for who in (world.other_team, OFFICE, unit_user("U001")):
        r = await api.post(who, f"/v1/problems/{pid}/feed-back", {"responsible_person": "张副区长"})
        assert r.status_code == 403
    r = await api.post(world.team, f"/v1/problems/{pid}/feed-back", {"responsible_person": " "})
    assert r.status_code == 422 and error(r)["field"] == "responsible_person"
    r = await api.post(world.team, "/v1/problems/nope/feed-back", {"responsible_person": "张"})
    assert r.status_code == 404


async def test_amending_a_problem_records_the_new_values_and_a_stale_version_is_409(api: Api, world: World) -> None:
    pid = await report(api, world)
    version = (await api.get(OFFICE, f"/v1/problems/{pid}")).json()["sequence"]
    await api.ok(world.team, f"/v1/problems/{pid}/amend",
                 {"reason": "核实后调整", "severity": "serious", "category": "固定资产投资"},
                 headers={"If-Match": str(version)})
    got = (await api.get(OFFICE, f"/v1/problems/{pid}")).json()
    assert (got["severity"], got["category"], got["title"], got["amendments"]) == (
        "serious", "固定资产投资", "项目开工滞后", 1)
    stale = await api.post(world.team, f"/v1/problems/{pid}/amend", {"reason": "再改", "title": "新标题"},
                           headers={"If-Match": str(version)})
    assert stale.status_code == 409
    r = await api.post(world.team, f"/v1/problems/{pid}/amend", {"reason": "没变", "severity": "serious"})
    assert r.status_code == 422
    r = await api.post(world.team, f"/v1/problems/{pid}/amend", {"reason": "错类", "category": "营商环境"})
    assert r.status_code == 422 and error(r)["field"] == "category"
    r = await api.post(world.other_team, f"/v1/problems/{pid}/amend", {"reason": "越权", "title": "x"})
    assert r.status_code == 403
    r = await api.post(OFFICE, f"/v1/problems/{pid}/amend", {"reason": "越权", "title": "x"})
    assert r.status_code == 403


async def test_a_withdrawn_problem_can_no_longer_be_changed_or_fed_back(api: Api, world: World) -> None:
    pid = await report(api, world)
    other = await report(api, world)
    r = await api.post(world.other_team, f"/v1/problems/{pid}/withdraw", {"reason": "越权"})
    assert r.status_code == 403
    await api.ok(world.team, f"/v1/problems/{pid}/withdraw", {"reason": "经核实不属实"})
    await api.ok(OFFICE, f"/v1/problems/{other}/withdraw", {"reason": "办公室撤回"})
    got = (await api.get(OFFICE, f"/v1/problems/{pid}")).json()
    assert got["status"] == "withdrawn" and got["status_reason"] == "经核实不属实"
    for path, body in [("amend", {"reason": "改", "title": "新"}), ("feed-back", {"responsible_person": "张"}),
                       ("withdraw", {"reason": "再撤"})]:
        assert (await api.post(world.team, f"/v1/problems/{pid}/{path}", body)).status_code == 409
    r = await api.post(world.team, f"/v1/problems/{pid}/withdraw", {"reason": ""})
    assert r.status_code == 422 and error(r)["field"] == "reason"


async def test_marking_a_problem_as_a_duplicate_of_another_at_the_same_unit(api: Api, world: World) -> None:
    original = await report(api, world)
    copy = await report(api, world, title="项目开工滞后（重复上报）")
    r = await api.post(world.team, f"/v1/problems/{copy}/duplicate", {"duplicate_of": copy, "reason": "同一问题"})
    assert r.status_code == 422 and error(r)["field"] == "duplicate_of"
    r = await api.post(world.team, f"/v1/problems/{copy}/duplicate", {"duplicate_of": "P404", "reason": "同一问题"})
    assert r.status_code == 404
    await api.ok(world.team, f"/v1/problems/{copy}/duplicate", {"duplicate_of": original, "reason": "同一问题"})
    got = (await api.get(OFFICE, f"/v1/problems/{copy}")).json()
    assert got["status"] == "duplicate" and got["duplicate_of"] == original
    r = await api.post(world.team, f"/v1/problems/{original}/duplicate", {"duplicate_of": copy, "reason": "反向"})
    assert r.status_code == 409
    assert (await api.get(OFFICE, "/v1/problems", status="duplicate")).json()["total"] == 1


async def test_problems_are_filtered_by_round_team_unit_category_status_and_paged(api: Api, world: World) -> None:
    for i in range(5):
        await report(api, world, title=f"问题{i}", category="招商引资" if i % 2 else "重大项目建设")
    fed = (await api.get(OFFICE, "/v1/problems", limit=1)).json()["items"][0]["id"]
    await api.ok(world.team, f"/v1/problems/{fed}/feed-back", {"responsible_person": "张"})
    q = (await api.get(OFFICE, "/v1/problems", category="招商引资")).json()
    assert q["total"] == 2
    assert (await api.get(OFFICE, "/v1/problems", status="fed_back")).json()["total"] == 1
    assert (await api.get(OFFICE, "/v1/problems", status="reported", team_id=world.team_id,
                          round_id=world.round_id, unit_id="U001")).json()["total"] == 4
    assert (await api.get(OFFICE, "/v1/problems", unit_id="U003")).json()["total"] == 0
    page = (await api.get(OFFICE, "/v1/problems", limit=2, offset=4)).json()
    assert page["total"] == 5 and len(page["items"]) == 1
    bad = await api.get(OFFICE, "/v1/problems", status="closed")
    assert bad.status_code == 422 and error(bad)["field"] == "status"


async def test_a_look_back_round_links_a_problem_found_again_to_the_earlier_round_s_problem(
    api: Api, world: World, clock: ManualClock,
) -> None:
    earlier = await report(api, world)
    elsewhere = (await api.ok(world.other_team, "/v1/problems", problem_body(
        world, unit_id="U003", content_id=(await api.get(OFFICE, "/v1/contents", team_id=world.other_team_id)
                                           ).json()["items"][0]["id"])))["id"]
    r = await api.post(world.team, "/v1/problems", problem_body(world, repeat_of=earlier))
    assert r.status_code == 422 and error(r)["field"] == "repeat_of"  # round 2 is no look-back
    await api.ok(OFFICE, f"/v1/rounds/{world.round_id}/close", {})
    clock.set(datetime(2026, 4, 6, 1, 0, tzinfo=UTC))
    body = {"number": 3, "name": "第二轮回头看", "starts_on": "2026-04-06", "ends_on": "2026-04-12",
            "focus_areas": ["重大项目建设"], "look_back_of": world.round_id}
    look_back = (await api.ok(OFFICE, "/v1/rounds", body))["id"]
    team_id, content_id = await plan(api, look_back, ["U001", "U003"], ["U001", "U003"], name="回头看组")
    team = team_member(team_id)

    def again(**extra: object) -> dict[str, object]:
        return {**problem_body(world, content_id=content_id, found_on="2026-04-06"), **extra}

    ok = await api.post(team, "/v1/problems", again(repeat_of=earlier, title="项目仍未开工（贰过）"))
    assert ok.status_code == 201, ok.text
    got = (await api.get(OFFICE, f"/v1/problems/{ok.json()['id']}")).json()
    assert got["repeat_of"] == earlier and got["round_id"] == look_back
    r = await api.post(team, "/v1/problems", again(repeat_of="P404"))
    assert r.status_code == 404
    r = await api.post(team, "/v1/problems", again(repeat_of=elsewhere))  # another unit's problem
    assert r.status_code == 404
    r = await api.post(team, "/v1/problems", again(repeat_of=ok.json()["id"]))  # not of the base round
    assert r.status_code == 422 and error(r)["field"] == "repeat_of"


def test_working_days_skip_weekends_and_holidays() -> None:
    from ducha_intake.domain.calendar import add_working_days, local_date

    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday
    assert add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert add_working_days(date(2026, 9, 30), 2, holidays={date(2026, 10, 1), date(2026, 10, 2)}) == date(2026, 10, 6)
    assert local_date(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == date(2026, 3, 2)


async def test_feed_back_sent_right_after_the_report_finds_the_problem(api: Api, world: World) -> None:
    """Many problems at once, each fed back the moment its report is answered, without
    `min_sequence`: the command finds the problem in the log, never 404s for one that exists."""

    async def life(n: int) -> None:
        report = assert_ok(await send_at_once(api.svc, world.team, "POST", "/v1/problems",
                                              problem_body(world, title=f"问题{n}")), "report")
        fed = assert_ok(await send_at_once(api.svc, world.team, "POST", f"/v1/problems/{report['id']}/feed-back",
                                           {"responsible_person": "王区长"}), "feed-back")
        assert fed["id"] == report["id"] and fed["sequence"] > report["sequence"]

    await asyncio.gather(*(life(n) for n in range(30)))
    async with projections_paused(api.svc.kernel):  # the read model far behind: the log still knows
        await asyncio.gather(*(life(n) for n in range(30, 36)))
    missing = await api.svc.client.post("/v1/problems/no-such-problem/feed-back", json={"responsible_person": "王"},
                                        headers=api.svc.headers(world.team))
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"


async def test_a_team_reusing_another_teams_key_never_gets_its_problem_id(api: Api, world: World) -> None:
    key = "report-key-shared-0001"
    mine = await api.ok(world.team, "/v1/problems", problem_body(world), key=key)
    # the other team, for a unit it may not report on: refused before anything is looked up or replayed
    refused = await api.post(world.other_team, "/v1/problems", problem_body(world), key=key)
    assert refused.status_code == 403 and mine["id"] not in refused.text
    # for its own unit: its own new problem, not the first team's
    contents = (await api.get(OFFICE, "/v1/contents", team_id=world.other_team_id)).json()["items"]
    own = problem_body(world, unit_id="U003", content_id=contents[0]["id"])
    theirs = await api.ok(world.other_team, "/v1/problems", own, key=key)
    assert theirs["id"] != mine["id"] and not theirs["replayed"]
    again = await api.ok(team_member(world.team_id, "P-M2"), "/v1/problems", problem_body(world), key=key)
    assert again == {**mine, "replayed": True}  # a colleague of the same team resending: the stored result
    other = await api.get(world.other_team, f"/v1/problems/{mine['id']}")
    assert other.status_code == 404


async def test_each_report_gets_the_rounds_next_supervision_number_without_gaps(api: Api, world: World) -> None:
    import asyncio

    from ducha.contracts.registry import registry

    ids = await asyncio.gather(*(report(api, world, title=f"问题{i}") for i in range(4)))
    got = [(await api.get(OFFICE, f"/v1/problems/{pid}")).json()["supervision_no"] for pid in ids]
    rd = (await api.get(OFFICE, f"/v1/rounds/{world.round_id}")).json()
    year = str(rd["starts_on"])[:4]
    assert sorted(got) == [f"{year}-{rd['number']}-{n:04d}" for n in range(1, 5)]  # concurrent, still gapless
    refused = await api.post(world.team, "/v1/problems", problem_body(world, unit_id="U003"))
    assert refused.status_code == 403
    fifth = await report(api, world, title="问题5")  # a refused report used no number
    assert (await api.get(OFFICE, f"/v1/problems/{fifth}")).json()["supervision_no"] == f"{year}-{rd['number']}-0005"
    # problems reported before 督办编号 existed read as unnumbered
    assert registry.upcast("IssueReported", 1, {"title": "旧问题"})["supervision_no"] == ""


async def test_lists_page_by_cursor_as_by_offset(api: Api, world: World) -> None:
    for i in range(5):
        await report(api, world, title=f"问题{i}")
    ids = [p["id"] for p in (await api.get(OFFICE, "/v1/problems")).json()["items"]]
    assert len(ids) == 5
    first = (await api.get(OFFICE, "/v1/problems", limit=2)).json()
    assert [p["id"] for p in first["items"]] == ids[:2] and first["total"] == 5 and first["next_cursor"]
    second = (await api.get(OFFICE, "/v1/problems", limit=2, cursor=first["next_cursor"])).json()
    assert [p["id"] for p in second["items"]] == ids[2:4]
    assert [p["id"] for p in (await api.get(OFFICE, "/v1/problems", limit=2, offset=2)).json()["items"]] == ids[2:4]
    last = (await api.get(OFFICE, "/v1/problems", limit=2, cursor=second["next_cursor"])).json()
    assert [p["id"] for p in last["items"]] == ids[4:] and last["next_cursor"] is None
    bad = await api.get(OFFICE, "/v1/problems", cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"
