"""Statistics per round, team and unit, the unit ranking, and the same numbers after a rebuild."""

from __future__ import annotations

from datetime import date
from typing import Any

from ducha.contracts import Actor, Role
from ducha.contracts.intake import IssueWithdrawn

World = Any


async def _scenario(w: World) -> None:
    # U1 (team T1): two written off (one revisited and held), one overdue
    await w.problem("A1", "U1")
    await w.problem("A2", "U1")
    await w.problem("A3", "U1", deadline=date(2026, 1, 6))
    # U2: B1 (T1) rejected once then accepted; B2 (T2) submitted after its deadline, awaiting review
    await w.problem("B1", "U2")
    await w.problem("B2", "U2", team="T2", deadline=date(2026, 1, 6))
    # U3: C1 rebounds after write-off, C2 withdrawn, C3 not yet fed back
    await w.problem("C1", "U3")
    await w.problem("C2", "U3")
    await w.problem("C3", "U3", fed_back=False)
    await w.emit("intake", "problem", "C2", "U3", IssueWithdrawn(reason="重复上报"))
    for pid, unit in (("A1", "U1"), ("A2", "U1"), ("C1", "U3"), ("B1", "U2")):
        await w.submit(pid, unit)
    w.advance(2)
    for pid in ("A1", "A2", "C1"):
        await w.accept(pid)
        await w.write_off(pid)
    await w.revisit("A1", "held")
    await w.revisit("C1", "rebounded")
    await w.reject("B1")
    await w.missed("A3", "U1", date(2026, 1, 6))
    await w.reopen("B1", "U2")
    await w.submit("B1", "U2")
    w.advance(2)
    await w.submit("B2", "U2")  # 2026-01-09 local, deadline 2026-01-06: late
    await w.accept("B1", 2)
    await w.write_off("B1")


def _pick(row: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(row[k] for k in keys)


KEYS = ("reported", "fed_back", "rectifying", "overdue", "submitted", "submissions", "awaiting_review",
        "accepted", "rejected", "rejections", "written_off", "held", "rebounded", "rebounds",
        "rectification_rate", "on_time_rate", "avg_days_to_write_off")


async def test_statistics_and_ranking_survive_a_rebuild(world: World) -> None:
    w = world
    await _scenario(w)
    by_unit = await w.get("/v1/stats", w.OFFICE, by="unit", round_id="R1")
    rows = {g["unit_id"]: g for g in by_unit["groups"]}
    assert rows["U1"]["name"] == "城关区人民政府"
    assert _pick(rows["U1"], *KEYS) == (3, 3, 1, 1, 2, 2, 0, 2, 0, 0, 2, 1, 0, 0, 0.6667, 1.0, 2.0)
    assert _pick(rows["U2"], *KEYS) == (2, 2, 0, 0, 2, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0.5, 0.6667, 4.0)
    assert _pick(rows["U3"], *KEYS) == (2, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0.0, 1.0, None)
    total = by_unit["total"]
    assert _pick(total, "reported", "fed_back", "written_off", "rebounded", "rectification_rate",
                 "avg_days_to_write_off") == (7, 6, 3, 1, 0.5, 2.67)

    by_team = await w.get("/v1/stats", w.OFFICE, by="team")
    assert [(g["team_id"], g["name"], g["reported"]) for g in by_team["groups"]] == [
        ("T1", "第1督查督导组", 6), ("T2", "第2督查督导组", 1)]
    by_round = await w.get("/v1/stats", w.OFFICE, by="round")
    assert [(g["round_id"], g["reported"]) for g in by_round["groups"]] == [("R1", 7)]

    ranking = (await w.get("/v1/ranking", w.CADRE, round_id="R1"))["ranking"]
    assert [(r["rank"], r["unit_id"]) for r in ranking] == [(1, "U1"), (2, "U2"), (3, "U3")]

    # scopes (the disclosure policy): a unit sees only itself, and only what was fed back to it;
    # a team its own problems and those of the units it is assigned to (T2 is assigned to U2)
    own = await w.get("/v1/stats", w.UNIT2, by="unit")
    assert [g["unit_id"] for g in own["groups"]] == ["U2"] and own["total"]["reported"] == 2
    unit3 = Actor(id="u-3", name="U3联络员", role=Role.UNIT, unit_id="U3")
    own3 = await w.get("/v1/stats", unit3, by="unit")  # C3 not fed back and C2 withdrawn are not counted
    assert _pick(own3["total"], "reported", "fed_back", "rebounded") == (1, 1, 1)
    team2 = await w.get("/v1/stats", w.OTHER_TEAM, by="unit")
    assert [(g["unit_id"], g["reported"], g["awaiting_review"]) for g in team2["groups"]] == [("U2", 2, 1)]
    await w.get("/v1/stats", w.HELPER, status=403)
    listed = await w.get("/v1/problems", w.UNIT1, stage="rectifying")
    assert [p["problem_id"] for p in listed["problems"]] == ["A3"]

    async def snapshot() -> list[Any]:
        out = [await w.get("/v1/stats", w.OFFICE, by=by) for by in ("unit", "team", "round")]
        out.append(await w.get("/v1/ranking", w.OFFICE))
        out.append(await w.get("/v1/rounds/R1/ledger", w.OFFICE))
        out.append(await w.get("/v1/problems", w.OFFICE))
        out.append([await w.get(f"/v1/problems/{p}", w.OFFICE) for p in ("A1", "B1", "C1")])
        return out

    before = await snapshot()
    runner = w.svc.kernel.runner("verification")
    await runner.rebuild()
    await runner.catch_up(timeout=30)
    assert await snapshot() == before


async def test_dashboard_figures_in_one_answer(world: World) -> None:
    """`/v1/figures`: what `/v1/stats` and `/v1/ranking` say, plus the lights today, per scope."""
    w = world
    await _scenario(w)  # today 2026-01-09 in the city; A3 (U1) is past its deadline of 01-06: red
    await w.problem("D1", "U2", deadline=date(2026, 1, 11))  # within the round's 3 yellow days: yellow
    await w.problem("D2", "U2", deadline=date(2026, 1, 30))  # green
    await w.problem("D3", "U3", deadline=None)  # no deadline committed, commit-by 01-08 passed: red
    await w.problem("D4", "U3", deadline=None)
    await w.emit("intake", "problem", "D4", "U3", IssueWithdrawn(reason="重复上报"))  # no light
    figs = await w.get("/v1/figures", w.OFFICE, round_id="R1")
    assert figs["lights"] == {"red": 2, "yellow": 1, "green": 1} and figs["today"] == "2026-01-09"
    stats = await w.get("/v1/stats", w.OFFICE, by="unit", round_id="R1")
    assert figs["total"] == stats["total"] and figs["total"]["reported"] == 10
    assert figs["ranking"] == (await w.get("/v1/ranking", w.OFFICE, round_id="R1"))["ranking"]
    teams = (await w.get("/v1/stats", w.OFFICE, by="team", round_id="R1"))["groups"]
    assert sorted(figs["teams"], key=lambda t: t["team_id"]) == [{**t, "rank": r["rank"]} for t, r in zip(
        teams, sorted(figs["teams"], key=lambda t: t["team_id"]), strict=True)]
    assert (await w.get("/v1/figures", w.UNIT1))["lights"] == {"red": 1, "yellow": 0, "green": 0}
    unit2 = await w.get("/v1/figures", w.UNIT2, round_id="R1")
    assert unit2["lights"] == {"red": 0, "yellow": 1, "green": 1}
    assert [r["unit_id"] for r in unit2["ranking"]] == ["U2"] and unit2["total"]["reported"] == 4
    team2 = await w.get("/v1/figures", w.OTHER_TEAM, round_id="R1")  # T2 is assigned to U2
    assert team2["lights"] == {"red": 0, "yellow": 1, "green": 1} and team2["total"]["reported"] == 4
    w.advance(3)  # 2026-01-12: D1 is red now, D2 still green
    assert (await w.get("/v1/figures", w.OFFICE))["lights"] == {"red": 3, "yellow": 0, "green": 1}
    await w.get("/v1/figures", w.HELPER, status=403)
    # the counters equal a recount after a rebuild
    before = await w.get("/v1/figures", w.OFFICE)
    runner = w.svc.kernel.runner("verification")
    await runner.rebuild()
    await runner.catch_up(timeout=30)
    assert await w.get("/v1/figures", w.OFFICE) == before


async def test_lists_page_by_offset_or_cursor(world: World) -> None:
    w = world
    for n in range(5):
        await w.problem(f"P{n}", "U1")
    ids = lambda body: [p["problem_id"] for p in body["problems"]]
    first = await w.get("/v1/problems", w.OFFICE, limit=2)
    assert ids(first) == ["P0", "P1"] and first["next_cursor"] == "P1"
    second = await w.get("/v1/problems", w.OFFICE, limit=2, cursor=first["next_cursor"])
    assert ids(second) == ["P2", "P3"] == ids(await w.get("/v1/problems", w.OFFICE, limit=2, offset=2))
    last = await w.get("/v1/problems", w.OFFICE, limit=2, cursor=second["next_cursor"])
    assert ids(last) == ["P4"] and last["next_cursor"] is None
    everything = await w.get("/v1/problems", w.OFFICE)
    assert len(everything["problems"]) == 5 and everything["next_cursor"] is None
    await w.get("/v1/problems", w.OFFICE, status=422, limit=0)
