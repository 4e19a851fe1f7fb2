"""Spot checks (抽查), re-checks (调查复核) and accountability/tolerance (问责/容错纠错)."""

from __future__ import annotations

from typing import Any

from ducha.contracts.verification import SpotCheckDrawn
from ducha.kernel.subjects import AggregateKey
from ducha_verification.domain.spotcheck import draw

World = Any


async def test_spot_check_sample_is_reproducible_from_its_seed(world: World) -> None:
    w = world
    for n in range(8):
        await w.written_off_problem(f"P{n}", ("U1", "U2")[n % 2])
    await w.problem("OPEN")  # not written off: not in the population
    body = {"round_id": "R1", "sample_size": 3, "seed": 20260105}
    await w.post("/v1/spotchecks", w.MEMBER, body, 403)
    await w.post("/v1/spotchecks", w.CADRE, body, 403)
    first = await w.post("/v1/spotchecks", w.OFFICE, body)
    view = await w.get(f"/v1/spotchecks/{first['id']}", w.OFFICE)
    assert view["seed"] == 20260105 and view["population"] == "written_off"
    assert view["population_ids"] == [f"P{n}" for n in range(8)]
    assert view["selected_ids"] == list(draw(view["population_ids"], 3, view["seed"]))
    assert len(set(view["selected_ids"])) == 3
    # drawn again with the same seed over the same population: the same sample
    second = await w.post("/v1/spotchecks", w.OFFICE, body)
    assert (await w.get(f"/v1/spotchecks/{second['id']}", w.OFFICE))["selected_ids"] == view["selected_ids"]
    # without a seed one is generated and recorded; redrawing with it reproduces the sample
    generated = await w.post("/v1/spotchecks", w.OFFICE, {"round_id": "R1", "sample_size": 4})
    loaded = await w.svc.kernel.store.load(AggregateKey("verification", "spotcheck", generated["id"], None))
    drawn = loaded.events[0].payload
    assert isinstance(drawn, SpotCheckDrawn) and drawn.sample_size == 4
    assert drawn.selected_ids == draw(list(reversed(drawn.population_ids)), 4, drawn.seed)
    # a sample larger than the population takes all of it; an empty population is a conflict
    everything = await w.post("/v1/spotchecks", w.OFFICE, {"round_id": "R1", "sample_size": 50, "seed": 1})
    assert len((await w.get(f"/v1/spotchecks/{everything['id']}", w.OFFICE))["selected_ids"]) == 8
    await w.post("/v1/spotchecks", w.OFFICE, {"round_id": "R9", "sample_size": 1}, 409)
    achievements = await w.post("/v1/spotchecks", w.OFFICE,
                                {"round_id": "R1", "sample_size": 1, "population": "achievements"})
    assert (await w.get(f"/v1/spotchecks/{achievements['id']}", w.OFFICE))["population"] == "achievements"

    sid, chosen = first["id"], view["selected_ids"]
    unchosen = next(p for p in view["population_ids"] if p not in chosen)
    finding = {"problem_id": chosen[0], "confirmed": True, "findings": "现场核实整改到位"}
    await w.post(f"/v1/spotchecks/{sid}/findings", w.MEMBER, finding, 403)
    await w.post(f"/v1/spotchecks/{sid}/findings", w.OFFICE, finding)
    await w.post(f"/v1/spotchecks/{sid}/findings", w.OFFICE, finding, 409)
    await w.post(f"/v1/spotchecks/{sid}/findings", w.OFFICE, {**finding, "problem_id": unchosen}, 409)
    await w.post(f"/v1/spotchecks/{sid}/findings", w.OFFICE,
                 {"problem_id": chosen[1], "confirmed": False, "findings": "台账与现场不符"})
    items = (await w.get(f"/v1/spotchecks/{sid}", w.OFFICE))["items"]
    assert [(i["problem_id"], i["confirmed"]) for i in items] == [(chosen[0], True), (chosen[1], False),
                                                                 (chosen[2], None)]
    own = await w.get(f"/v1/spotchecks/{sid}", w.UNIT1)
    assert "population_ids" not in own and all(i["unit_id"] == "U1" for i in own["items"])
    assert (await w.get("/v1/spotchecks", w.OFFICE, round_id="R1"))["spotchecks"][0]["seed"] == 20260105
    await w.get("/v1/spotchecks", w.UNIT1, status=403)


async def test_recheck_classifies_items_and_only_the_office_records_it(world: World) -> None:
    w = world
    await w.problem("P1", "U1")
    await w.problem("P2", "U2")
    await w.problem("P3", "U3")
    body = {"round_id": "R1", "subject": "重大项目建设推进情况复核", "means": ["实地核查", "调阅资料"],
            "items": [{"problem_id": "P1", "status": "not_done", "detail": "资金未到位"},
                      {"problem_id": "P2", "status": "in_progress", "detail": "已完成70%"}]}
    await w.post("/v1/rechecks", w.MEMBER, body, 403)
    await w.post("/v1/rechecks", w.CADRE, body, 403)
    missing = {**body, "items": [{"problem_id": "NOPE", "status": "done", "detail": "x"}]}
    await w.post("/v1/rechecks", w.OFFICE, missing, 404)
    twice = {**body, "items": body["items"] + [body["items"][0]]}
    await w.post("/v1/rechecks", w.OFFICE, twice, 409)
    created = await w.post("/v1/rechecks", w.OFFICE, body)
    rid = created["id"]
    await w.post(f"/v1/rechecks/{rid}/items", w.OFFICE,
                 {"items": [{"problem_id": "P3", "status": "done", "detail": "整改到位，效果良好"}]})
    await w.post(f"/v1/rechecks/{rid}/items", w.OFFICE,
                 {"items": [{"problem_id": "P1", "status": "done", "detail": "again"}]}, 409)
    await w.post("/v1/rechecks/unknown/items", w.OFFICE,
                 {"items": [{"problem_id": "P1", "status": "done", "detail": "x"}]}, 409)
    view = await w.get(f"/v1/rechecks/{rid}", w.OFFICE)
    assert view["subject"] == "重大项目建设推进情况复核" and view["means"] == ["实地核查", "调阅资料"]
    assert [(i["problem_id"], i["status"]) for i in view["items"]] == [
        ("P1", "not_done"), ("P2", "in_progress"), ("P3", "done")]
    own = await w.get("/v1/rechecks", w.UNIT2, round_id="R1")
    assert [(i["problem_id"], i["detail"]) for i in own["items"]] == [("P2", "已完成70%")]
    await w.get(f"/v1/rechecks/{rid}", w.HELPER, status=403)


async def test_only_cadre_supervision_records_accountability_and_tolerance(world: World) -> None:
    w = world
    await w.problem("P1", "U1")
    on_problem = {"kind": "accountability", "problem_id": "P1", "person_name": "王某",
                  "basis": "整改不力，逾期未完成", "decision": "诫勉谈话"}
    for who in (w.OFFICE, w.MEMBER, w.UNIT1):
        await w.post("/v1/decisions", who, on_problem, 403)
    mismatch = await w.post("/v1/decisions", w.CADRE, {**on_problem, "unit_id": "U2"}, 422)
    assert mismatch["error"]["field"] == "unit_id"
    await w.post("/v1/decisions", w.CADRE, {**on_problem, "problem_id": "NOPE"}, 404)
    await w.post("/v1/decisions", w.CADRE, {**on_problem, "problem_id": None, "unit_id": "NOPE"}, 422)
    await w.post("/v1/decisions", w.CADRE, {**on_problem, "basis": ""}, 422)
    first = await w.post("/v1/decisions", w.CADRE, on_problem)
    await w.post("/v1/decisions", w.CADRE, {"kind": "tolerance", "unit_id": "U2", "basis": "先行先试，程序合规",
                                            "decision": "予以容错免责"})
    events = (await w.svc.kernel.store.load(AggregateKey("verification", "decision", first["id"], "U1"))).events
    assert events[0].payload.unit_id == "U1" and events[0].payload.round_id == "R1"
    everything = await w.get("/v1/decisions", w.CADRE)
    assert [(d["kind"], d["unit_id"]) for d in everything["decisions"]] == [("accountability", "U1"),
                                                                            ("tolerance", "U2")]
    assert [d["unit_id"] for d in (await w.get("/v1/decisions", w.UNIT2))["decisions"]] == ["U2"]
    assert [d["problem_id"] for d in (await w.get("/v1/decisions", w.MEMBER))["decisions"]] == ["P1"]
    assert (await w.get("/v1/decisions", w.OTHER_TEAM))["decisions"] == []
