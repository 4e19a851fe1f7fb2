"""The disclosure policy itself (pure), and docs/security.md's table equals what the code says."""

from __future__ import annotations

from pathlib import Path

from ducha.contracts import Role
from ducha.disclosure import (
    ProblemFacts,
    Stage,
    Verdict,
    Viewer,
    apply_redactions,
    decide,
    fold,
    may_see_problem,
    policy_table_markdown,
    public_shape,
)

ROOT = Path(__file__).resolve().parents[2]
UNIT = Viewer(Role.UNIT, unit_id="U1")
OTHER_UNIT = Viewer(Role.UNIT, unit_id="U2")
TEAM = Viewer(Role.TEAM, team_id="T9", team_units=frozenset({"U1"}))
HELPER = Viewer(Role.HELPER, unit_id="H1")


def facts(*events: tuple[str, dict], unit: str = "U1") -> ProblemFacts:  # type: ignore[type-arg]
    f = None
    for seq, (event_type, payload) in enumerate(events, start=1):
        f = fold(f, event_type, unit, "P1", payload, seq)
    assert f is not None
    return f


REPORTED = ("IssueReported", {"team_id": "T1", "found_by": "unannounced", "publishable": True})
FED_BACK = ("IssueFedBack", {})


def test_docs_security_table_is_the_policy() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    between = text.split("<!-- policy-table:begin -->\n", 1)[1].split("<!-- policy-table:end -->", 1)[0]
    assert between.strip() == policy_table_markdown().strip()


def test_unit_sees_its_problem_only_from_feed_back_on() -> None:
    before = facts(REPORTED)
    assert not may_see_problem(UNIT, before)
    assert decide(UNIT, "IssueReported", before, sequence=1).verdict == Verdict.HIDDEN
    after = facts(REPORTED, FED_BACK)
    assert after.stage == Stage.FED_BACK and may_see_problem(UNIT, after)
    assert decide(UNIT, "IssueReported", after, sequence=1).visible
    assert not may_see_problem(OTHER_UNIT, after)
    assert decide(OTHER_UNIT, "IssueFedBack", after).verdict == Verdict.HIDDEN


def test_unit_sees_the_team_not_the_person_of_an_unannounced_visit() -> None:
    f = facts(REPORTED, FED_BACK)
    d = decide(UNIT, "IssueReported", f)
    assert d.verdict == Verdict.REDACTED and d.redact == ("actor",)
    event = {"actor": {"id": "p-7", "name": "赵组员", "role": "team", "team_id": "T1"}, "payload": {"title": "x"}}
    shown = apply_redactions(event, d, f)
    assert shown["actor"]["id"] == "T1" and shown["actor"]["name"] == "督查组"
    on_site = facts(("IssueReported", {"team_id": "T1", "found_by": "on_site"}), FED_BACK)
    assert decide(UNIT, "IssueReported", on_site).verdict == Verdict.VISIBLE
    dispatch = decide(UNIT, "DispatchRecorded", on_site, payload={"kind": "unannounced_visit"})
    assert dispatch.redact == ("actor",)


def test_withdrawn_problems_disappear_for_units_with_a_bare_notice() -> None:
    f = facts(REPORTED, FED_BACK, ("DeadlineSet", {}), ("IssueWithdrawn", {"reason": "内部"}))
    assert f.stage == Stage.WITHDRAWN and not may_see_problem(UNIT, f)
    assert decide(UNIT, "DeadlineSet", f).verdict == Verdict.HIDDEN
    notice = decide(UNIT, "IssueWithdrawn", f)
    assert notice.verdict == Verdict.REDACTED and "payload.reason" in notice.redact
    never_told = facts(REPORTED, ("IssueWithdrawn", {"reason": "误报"}))
    assert decide(UNIT, "IssueWithdrawn", never_told).verdict == Verdict.HIDDEN
    assert may_see_problem(TEAM, f)


def test_helper_sees_only_assigned_problems_from_the_assignment_on() -> None:
    f = facts(REPORTED, FED_BACK, ("ProgressReported", {}), ("HelperAssigned", {"helper_id": "H1"}),
              ("ProgressReported", {}))
    assert f.helpers == {"H1": 4} and may_see_problem(HELPER, f)
    assert decide(HELPER, "ProgressReported", f, sequence=3).verdict == Verdict.HIDDEN
    assert decide(HELPER, "ProgressReported", f, sequence=5).visible
    assert decide(HELPER, "IssueReported", f, sequence=1).visible  # the facts it helps with
    assert not may_see_problem(Viewer(Role.HELPER, unit_id="H2"), f)


def test_team_sees_only_units_it_is_assigned_to() -> None:
    f = facts(REPORTED)
    assert may_see_problem(TEAM, f)  # assigned to U1
    assert may_see_problem(Viewer(Role.TEAM, team_id="T1"), f)  # its own report
    assert not may_see_problem(Viewer(Role.TEAM, team_id="T2", team_units=frozenset({"U2"})), f)


def test_public_sees_only_published_fed_back_problems_and_no_events() -> None:
    public = Viewer(Role.PUBLIC)
    f = facts(REPORTED, FED_BACK)
    assert not may_see_problem(public, f)
    from dataclasses import replace

    published = replace(f, published=True)
    assert may_see_problem(public, published)
    assert not may_see_problem(public, replace(facts(REPORTED), published=True))
    assert decide(public, "IssueReported", published).verdict == Verdict.HIDDEN


def test_team_internal_review_hidden_and_proposer_removed_for_departments() -> None:
    f = facts(REPORTED, FED_BACK)
    assert decide(UNIT, "ReviewProposed", f).verdict == Verdict.HIDDEN
    d = decide(UNIT, "RectificationVerified", f)
    shaped = public_shape({"event_id": "e", "command_id": "c", "prev_hash": "h", "actor": {"role": "office"},
                           "payload": {"proposed_by": "p-2", "assessment": "好"}}, d, f, 9)
    assert shaped["payload"] == {"assessment": "好"} and "command_id" not in shaped and "prev_hash" not in shaped
    assert shaped["sequence"] == 9 and "payload.proposed_by" in shaped["redacted"]


def test_accountability_decisions_for_office_cadre_and_the_unit_concerned() -> None:
    for viewer in (OTHER_UNIT, TEAM, HELPER):
        assert decide(viewer, "AccountabilityDecided", None, event_unit="U1").verdict == Verdict.HIDDEN
    assert decide(UNIT, "AccountabilityDecided", None, event_unit="U1").visible
    assert decide(TEAM, "AccountabilityDecided", facts(REPORTED), event_unit="U1").visible
    assert decide(Viewer(Role.CADRE), "AccountabilityDecided", None).visible
    assert decide(UNIT, "UnitUpdated", None, event_unit="U1").visible
    assert decide(UNIT, "UnitUpdated", None, event_unit="U2").verdict == Verdict.HIDDEN
