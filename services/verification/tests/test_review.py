"""Review and acceptance (审核验收): who reviews, which submission, one step and two steps."""

from __future__ import annotations

from typing import Any

from ducha.contracts import intake as i
from ducha.contracts.common import Severity
from ducha.contracts.verification import RectificationRejected, RectificationVerified, ReviewProposed

World = Any


async def test_only_the_problems_team_accepts_the_latest_pending_submission(world: World) -> None:
    w = world
    await w.problem("P1")
    # no submission yet: nothing to review
    await w.accept("P1", 1, status=503)  # submission 1 is not (yet) visible here
    await w.submit("P1")
    body = {"submission_no": 1, "outcome": "accept", "effectiveness": "good", "assessment": "到位"}
    for who, status in ((w.UNIT1, 403), (w.OFFICE, 403), (w.OTHER_TEAM, 403), (w.CADRE, 403)):
        err = await w.post("/v1/problems/P1/review", who, body, status)
        assert err["error"]["code"] == "forbidden"
    missing = await w.post("/v1/problems/P1/review", w.MEMBER, {**body, "assessment": " "}, 422)
    assert missing["error"]["field"] == "assessment"
    no_eff = await w.post("/v1/problems/P1/review", w.MEMBER, {**body, "effectiveness": None}, 422)
    assert no_eff["error"]["field"] == "effectiveness"
    assert (await w.post("/v1/problems/NOPE/review", w.MEMBER, body, 404))["error"]["code"] == "not_found"

    done = await w.post("/v1/problems/P1/review", w.MEMBER, body, key="review-P1-0001")
    assert set(done) == {"id", "sequence", "replayed"} and done["id"] == "P1" and not done["replayed"]
    again = await w.post("/v1/problems/P1/review", w.MEMBER, body, key="review-P1-0001")
    assert again == {**done, "replayed": True}
    second = await w.accept("P1", 1, status=409)
    assert "already accepted" in second["error"]["message"]
    [event] = await w.verification_events("P1")
    assert isinstance(event.payload, RectificationVerified) and event.payload.proposed_by is None

    view = await w.get("/v1/problems/P1", w.UNIT1, min_sequence=done["sequence"])
    assert view["stage"] == "accepted" and view["effectiveness"] == "good"
    assert view["submissions"][0]["outcome"] == "accepted" and view["submissions"][0]["reviewed_by"] == "m-1"
    await w.get("/v1/problems/P1", w.UNIT2, status=404)  # a unit reads only its own
    await w.get("/v1/problems/P1", w.OTHER_TEAM, status=404)  # a team only its own team's
    await w.get("/v1/problems/P1", w.HELPER, status=403)


async def test_rejection_needs_reasons_and_the_resubmission_is_reviewed_next(world: World) -> None:
    w = world
    await w.problem("P2")
    await w.submit("P2")
    no_reason = await w.post("/v1/problems/P2/review", w.MEMBER, {"submission_no": 1, "outcome": "reject"}, 422)
    assert no_reason["error"]["field"] == "reasons"
    await w.reject("P2", 1)
    await w.accept("P2", 1, status=409)  # rejected already: back to rectification
    await w.write_off("P2", status=409)  # no write-off without acceptance
    await w.reopen("P2")
    await w.submit("P2")
    assert (await w.get("/v1/problems/P2", w.MEMBER))["latest_submission_no"] == 2
    stale = await w.accept("P2", 1, status=409)
    assert "not the latest" in stale["error"]["message"]
    await w.accept("P2", 2)
    events = [e.payload for e in await w.verification_events("P2")]
    assert isinstance(events[0], RectificationRejected) and events[0].reasons == ("佐证材料不全",)
    assert isinstance(events[1], RectificationVerified) and events[1].submission_no == 2
    view = await w.get("/v1/problems/P2", w.LEADER)
    assert view["rejection_count"] == 1 and view["accepted_count"] == 1 and view["submission_count"] == 2
    assert [s["outcome"] for s in view["submissions"]] == ["rejected", "accepted"]


async def test_a_problem_amended_to_severe_needs_the_leaders_confirmation(world: World) -> None:
    w = world
    await w.problem("A1", severity="general")
    await w.emit("intake", "problem", "A1", "U1", i.IssueAmended(reason="核实后升级", severity=Severity.SEVERE,
                                                                  title="项目审批严重超时"), actor=w.MEMBER)
    await w.submit("A1")
    view = await w.get("/v1/problems/A1", w.OFFICE)
    assert view["severity"] == "severe" and view["title"] == "项目审批严重超时"
    assert view["category"] == "重大项目建设"  # not amended: kept
    await w.accept("A1", 1, who=w.MEMBER)  # only a proposal now
    assert (await w.get("/v1/problems/A1", w.OFFICE))["stage"] == "submitted"
    await w.write_off("A1", status=409)
    await w.post("/v1/problems/A1/review/confirm", w.LEADER, {"submission_no": 1})
    await w.write_off("A1")


async def test_severe_problem_needs_a_members_proposal_and_the_leaders_confirmation(world: World) -> None:
    w = world
    await w.problem("S1", severity="severe")
    await w.submit("S1")
    alone = await w.accept("S1", 1, who=w.LEADER, status=403)
    assert "two steps" in alone["error"]["message"]
    await w.accept("S1", 1, who=w.MEMBER)  # a proposal, not yet an acceptance
    await w.write_off("S1", status=409)
    pending = await w.accept("S1", 1, who=w.MEMBER2, status=409)
    assert "awaits the team leader" in pending["error"]["message"]
    await w.post("/v1/problems/S1/review/confirm", w.MEMBER2, {"submission_no": 1}, 403)  # not the leader
    await w.post("/v1/problems/S1/review/confirm", w.LEADER, {"submission_no": 2}, 503)
    view = await w.get("/v1/problems/S1", w.OFFICE)
    assert view["stage"] == "submitted" and view["proposed_by"] == "m-1" and view["proposal_outcome"] == "accept"

    # the leader returns it; a new proposal (a rejection) is confirmed
    await w.post("/v1/problems/S1/review/return", w.LEADER, {"submission_no": 1, "reason": "成效评估不充分"})
    await w.post("/v1/problems/S1/review/confirm", w.LEADER, {"submission_no": 1}, 409)  # nothing pending
    await w.reject("S1", 1, who=w.MEMBER2)
    await w.post("/v1/problems/S1/review/confirm", w.LEADER, {"submission_no": 1})
    await w.reopen("S1")
    await w.submit("S1")
    await w.accept("S1", 2, who=w.MEMBER)
    await w.post("/v1/problems/S1/review/confirm", w.LEADER, {"submission_no": 2})
    kinds = [type(e.payload).__name__ for e in await w.verification_events("S1")]
    assert kinds == ["ReviewProposed", "ReviewProposalReturned", "ReviewProposed", "RectificationRejected",
                     "ReviewProposed", "RectificationVerified"]
    events = await w.verification_events("S1")
    assert isinstance(events[0].payload, ReviewProposed)
    assert events[3].payload.proposed_by == "m-2" and events[3].actor.id == "lead-1"
    assert events[5].payload.proposed_by == "m-1" and events[5].payload.effectiveness == "good"
    await w.write_off("S1")


async def test_a_withdrawn_problem_is_not_reviewed(world: World) -> None:
    from ducha.contracts.intake import IssueWithdrawn

    w = world
    await w.problem("W1")
    await w.submit("W1")
    await w.emit("intake", "problem", "W1", "U1", IssueWithdrawn(reason="误报"))
    assert (await w.get("/v1/problems/W1", w.OFFICE))["excluded"] is True  # read after the withdrawal
    refused = await w.accept("W1", 1, status=409)
    assert "withdrawn" in refused["error"]["message"]
