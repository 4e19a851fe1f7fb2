"""The disclosure policy (保密纪律): who may see which event, and which of its fields, when.

One rule for every way out of Ducha — queries, statistics, timelines, SSE, webhooks, department
streams, digests, inbox, bulletins, exports. Pure code: callers supply what the policy needs to
know about a problem (`ProblemFacts`, folded from the problem's own events with `fold`) and about
the viewer (`Viewer`); the policy answers *visible*, *redacted* (these fields removed or replaced)
or *hidden*. `docs/security.md` holds the table this module produces (`policy_table_markdown`);
a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .contracts.base import Actor, Role


class Verdict(StrEnum):
    VISIBLE = "visible"
    REDACTED = "redacted"
    HIDDEN = "hidden"


class Stage(StrEnum):
    """Where a problem stands, as far as disclosure cares."""

    REPORTED = "reported"  # 已上报, not yet fed back: the team's working material
    FED_BACK = "fed_back"  # 已交办
    RECTIFYING = "rectifying"  # 整改中 (deadline set, submitted, under review, reopened)
    WRITTEN_OFF = "written_off"  # 已销号 (and revisited)
    WITHDRAWN = "withdrawn"  # 已撤回 or marked duplicate


STAGES: tuple[Stage, ...] = tuple(Stage)

# Event kinds of a problem's history (all three contexts share the problem aggregate id).
FACTS = frozenset({"IssueReported", "IssueAmended", "IssueFedBack"})
REMOVAL = frozenset({"IssueWithdrawn", "IssueMarkedDuplicate"})
TEAM_INTERNAL = frozenset({"ReviewProposed", "ReviewProposalReturned"})
WORK = frozenset({
    "DeadlineSet", "DeadlineCommitmentMissed", "ExtensionRequested", "ExtensionGranted", "ExtensionRefused",
    "ProgressReported", "DispatchRecorded", "ReminderIssued", "ReminderAcknowledged", "HelpRequested",
    "HelperAssigned", "HelpReported", "RectificationSubmitted", "RectificationReopened", "DeadlineApproaching",
    "DeadlineMissed", "RectificationVerified", "RectificationRejected", "ProblemWrittenOff", "RevisitRecorded",
})
PROBLEM_EVENTS = FACTS | REMOVAL | TEAM_INTERNAL | WORK
# A unit's own directory entry is the only non-problem event a unit receives.
OWN_DIRECTORY = frozenset({"UnitRegistered", "UnitUpdated", "PersonRegistered"})

SEE_ALL = frozenset({Role.OFFICE, Role.CADRE, Role.SYSTEM, Role.AUDITOR})
DEPARTMENTS = frozenset({Role.UNIT, Role.HELPER})

# What replaces the person of a team in what a department sees of an unannounced visit (暗访).
TEAM_PLACEHOLDER_NAME = "督查组"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: role plus scope. `team_units` are the units the viewer's team is assigned
    to (the caller looks them up); `unit_id` is the unit or helper department."""

    role: Role
    unit_id: str | None = None
    team_id: str | None = None
    team_units: frozenset[str] = frozenset()

    @classmethod
    def of(cls, actor: Actor, team_units: Iterable[str] = ()) -> Viewer:
        return cls(actor.role, actor.unit_id, actor.team_id, frozenset(team_units))


@dataclass(frozen=True, slots=True)
class ProblemFacts:
    """What the policy needs to know about one problem, as of the moment of disclosure.

    `helpers` maps each assigned helper department to the log sequence of its `HelperAssigned`;
    `published` means a published bulletin names the problem."""

    problem_id: str
    unit_id: str
    team_id: str | None = None
    stage: Stage = Stage.REPORTED
    fed_back: bool = False
    unannounced: bool = False
    publishable: bool = False
    published: bool = False
    helpers: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    # Field paths removed (payload.<name>) or replaced by the team (actor) in what is disclosed.
    redact: tuple[str, ...] = ()
    why: str = ""

    @property
    def visible(self) -> bool:
        return self.verdict != Verdict.HIDDEN


HIDDEN = Decision(Verdict.HIDDEN)


# ---------------------------------------------------------------- problem level
def may_see_problem(viewer: Viewer, facts: ProblemFacts) -> bool:
    """May the viewer see this problem at all (a row in a list, a figure in a statistic)?"""
    role = viewer.role
    if role in SEE_ALL:
        return True
    if role == Role.TEAM:
        return facts.team_id == viewer.team_id or facts.unit_id in viewer.team_units
    if facts.stage in (Stage.REPORTED, Stage.WITHDRAWN):
        return False  # before 交办 the unit does not know it; withdrawn problems disappear
    if role == Role.UNIT:
        return facts.unit_id == viewer.unit_id
    if role == Role.HELPER:
        return viewer.unit_id is not None and viewer.unit_id in facts.helpers
    if role == Role.PUBLIC:
        return facts.published
    return False


def may_publish(facts: ProblemFacts) -> bool:
    """May a bulletin count this problem (ranking, totals)? Only what the public may then see:
    fed back, not withdrawn. Naming it individually needs `publishable` as well."""
    return may_see_problem(Viewer(Role.PUBLIC), replace(facts, published=True))


@dataclass(frozen=True, slots=True)
class ProblemScope:
    """The problem-level rule in a form a SQL query applies (`ducha.kernel.scope`): None in a
    field means "no condition". `nothing` means the viewer sees no problems at all."""

    everything: bool = False
    nothing: bool = False
    # team_id: the team's own problems, and those of the units it is assigned to (team_units,
    # or the service's own record of assignments, see ducha.kernel.scope)
    unit_id: str | None = None
    team_id: str | None = None
    team_units: frozenset[str] = frozenset()
    helper_id: str | None = None
    disclosed_only: bool = False  # fed back and not withdrawn
    published_only: bool = False


def problem_scope(viewer: Viewer) -> ProblemScope:
    role = viewer.role
    if role in SEE_ALL:
        return ProblemScope(everything=True)
    if role == Role.TEAM:
        return ProblemScope(team_id=viewer.team_id, team_units=viewer.team_units)
    if role == Role.UNIT and viewer.unit_id:
        return ProblemScope(unit_id=viewer.unit_id, disclosed_only=True)
    if role == Role.HELPER and viewer.unit_id:
        return ProblemScope(helper_id=viewer.unit_id, disclosed_only=True)
    if role == Role.PUBLIC:
        return ProblemScope(published_only=True, disclosed_only=True)
    return ProblemScope(nothing=True)


# ------------------------------------------------------------------ event level
def decide(viewer: Viewer, event_type: str, facts: ProblemFacts | None, *, event_unit: str | None = None,
           sequence: int = 0, payload: Mapping[str, Any] | None = None) -> Decision:
    """May the viewer see this event? `facts` describes the event's problem (None for events of
    other aggregates), `sequence` is the event's log position (for "from the assignment on"),
    `payload` lets the policy look at the event's own fields (a dispatch's kind)."""
    role = viewer.role
    if role in SEE_ALL:
        return Decision(Verdict.VISIBLE, why="sees everything")
    if facts is None or event_type not in PROBLEM_EVENTS:
        return _non_problem(viewer, event_type, event_unit, facts)
    if not may_see_problem(viewer, facts):
        return _removal_notice(viewer, event_type, facts)
    if role == Role.TEAM:
        return Decision(Verdict.VISIBLE, why="a problem of the team or of a unit it is assigned to")
    if role == Role.PUBLIC:
        return Decision(Verdict.HIDDEN, why="the public reads bulletins, not events")
    if event_type in TEAM_INTERNAL:
        return Decision(Verdict.HIDDEN, why="the team's internal review step")
    if role == Role.HELPER and event_type not in FACTS:
        since = facts.helpers.get(viewer.unit_id or "", 0)
        if sequence and sequence < since:
            return Decision(Verdict.HIDDEN, why="before the helper was assigned")
    redact = _department_redactions(event_type, facts, payload)
    if redact:
        return Decision(Verdict.REDACTED, redact, why="names no individual of the team")
    return Decision(Verdict.VISIBLE, why="its own (or assigned) problem, fed back")


def _non_problem(viewer: Viewer, event_type: str, event_unit: str | None, facts: ProblemFacts | None) -> Decision:
    if event_type == "AccountabilityDecided":  # 问责/容错: the unit concerned, and a team for its problems
        if viewer.role == Role.UNIT and event_unit is not None and event_unit == viewer.unit_id:
            return Decision(Verdict.VISIBLE, why="a decision about the unit itself")
        if viewer.role == Role.TEAM and facts is not None and may_see_problem(viewer, facts):
            return Decision(Verdict.VISIBLE, why="a decision about the team's problem")
        return Decision(Verdict.HIDDEN, why="personnel decisions are for office, cadre and the unit concerned")
    if viewer.role == Role.TEAM:
        return Decision(Verdict.VISIBLE, why="working material of the teams")
    if viewer.role == Role.UNIT and event_type in OWN_DIRECTORY and event_unit == viewer.unit_id:
        return Decision(Verdict.VISIBLE, why="its own directory entry")
    return Decision(Verdict.HIDDEN, why="not the viewer's business")


def _removal_notice(viewer: Viewer, event_type: str, facts: ProblemFacts) -> Decision:
    """A department that was told about a problem is told that it went away (and nothing else)."""
    if (event_type in REMOVAL and facts.stage == Stage.WITHDRAWN and facts.fed_back
            and viewer.role in DEPARTMENTS and _concerns(viewer, facts)):
        return Decision(Verdict.REDACTED, ("payload.reason", "payload.duplicate_of", "actor"),
                        why="tells a department the fed-back problem was withdrawn")
    return Decision(Verdict.HIDDEN, why="may not see the problem (now)")


def _concerns(viewer: Viewer, facts: ProblemFacts) -> bool:
    if viewer.role == Role.UNIT:
        return facts.unit_id == viewer.unit_id
    return viewer.unit_id is not None and viewer.unit_id in facts.helpers


def _department_redactions(event_type: str, facts: ProblemFacts, payload: Mapping[str, Any] | None) -> tuple[str, ...]:
    redact: list[str] = []
    covert_visit = event_type == "DispatchRecorded" and (payload or {}).get("kind") == "unannounced_visit"
    if facts.unannounced or covert_visit:
        redact.append("actor")
    if event_type in ("RectificationVerified", "RectificationRejected"):
        redact.append("payload.proposed_by")
    return tuple(redact)


# ------------------------------------------------------------ folding the facts
def fold(facts: ProblemFacts | None, event_type: str, unit_id: str | None, aggregate_id: str,
         payload: Mapping[str, Any], sequence: int = 0) -> ProblemFacts | None:
    """The problem's facts after one more of its events (None until `IssueReported`)."""
    if event_type == "IssueReported":
        return ProblemFacts(aggregate_id, unit_id or "_", payload.get("team_id"),
                            unannounced=payload.get("found_by") == "unannounced",
                            publishable=bool(payload.get("publishable")))
    if facts is None:
        return None
    if event_type == "IssueAmended" and payload.get("publishable") is not None:
        return replace(facts, publishable=bool(payload["publishable"]))
    if event_type in REMOVAL:
        return replace(facts, stage=Stage.WITHDRAWN)
    if event_type == "IssueFedBack":
        return replace(facts, stage=Stage.FED_BACK, fed_back=True)
    if event_type == "HelperAssigned":
        return replace(facts, helpers={**facts.helpers, str(payload["helper_id"]): sequence})
    if facts.stage == Stage.WITHDRAWN:
        return facts
    if event_type == "ProblemWrittenOff":
        return replace(facts, stage=Stage.WRITTEN_OFF)
    if event_type in ("DeadlineSet", "RectificationReopened", "RectificationSubmitted"):
        return replace(facts, stage=Stage.RECTIFYING)
    return facts


# --------------------------------------------------------------- applying it
def redacted_actor(actor: Mapping[str, Any], facts: ProblemFacts | None) -> dict[str, Any]:
    team = actor.get("team_id") or (facts.team_id if facts else None)
    if actor.get("role") != Role.TEAM.value:
        return dict(actor)
    return {"id": team or "team", "name": TEAM_PLACEHOLDER_NAME, "role": Role.TEAM.value,
            "unit_id": None, "team_id": team, "team_leader": False}


def apply_redactions(event: Mapping[str, Any], decision: Decision, facts: ProblemFacts | None) -> dict[str, Any]:
    """A copy of an envelope-shaped dict (`actor`, `payload`) with the decision's fields removed."""
    out = dict(event)
    payload = dict(out.get("payload") or {})
    for path in decision.redact:
        if path == "actor" and isinstance(out.get("actor"), Mapping):
            out["actor"] = redacted_actor(out["actor"], facts)
        elif path.startswith("payload."):
            payload.pop(path.removeprefix("payload."), None)
    out["payload"] = payload
    return out


# Envelope fields a department never receives: internal bookkeeping and the hash chain, which
# would not verify over a redacted event anyway.
INTERNAL_FIELDS = ("command_id", "correlation_id", "causation_id", "prev_hash")


def public_shape(event: Mapping[str, Any], decision: Decision, facts: ProblemFacts | None,
                 sequence: int) -> dict[str, Any]:
    """The disclosed event in the public contract shape (see docs/security.md)."""
    out = apply_redactions(event, decision, facts)
    for name in INTERNAL_FIELDS:
        out.pop(name, None)
    out["sequence"] = sequence
    out["redacted"] = list(decision.redact)
    return out


# ------------------------------------------------------------------ the table
VIEWERS: tuple[tuple[str, Viewer], ...] = (
    ("office / cadre", Viewer(Role.OFFICE)),
    ("team (assigned)", Viewer(Role.TEAM, team_id="T1", team_units=frozenset({"U1"}))),
    ("team (other)", Viewer(Role.TEAM, team_id="T9")),
    ("unit (own)", Viewer(Role.UNIT, unit_id="U1")),
    ("unit (other)", Viewer(Role.UNIT, unit_id="U2")),
    ("helper (assigned)", Viewer(Role.HELPER, unit_id="H1")),
    ("public", Viewer(Role.PUBLIC)),
)
KINDS: tuple[tuple[str, str], ...] = (
    ("IssueReported", "facts (IssueReported, IssueAmended, IssueFedBack)"),
    ("ProgressReported", "rectification and review (DeadlineSet … RevisitRecorded)"),
    ("ReviewProposed", "team-internal (ReviewProposed, ReviewProposalReturned)"),
    ("IssueWithdrawn", "removal (IssueWithdrawn, IssueMarkedDuplicate)"),
)


def example_facts(stage: Stage, *, unannounced: bool = False) -> ProblemFacts:
    fed = stage != Stage.REPORTED
    return ProblemFacts("P1", "U1", "T1", stage=stage, fed_back=fed, unannounced=unannounced,
                        publishable=True, published=fed and stage != Stage.WITHDRAWN, helpers={"H1": 1})


def _cell(d: Decision) -> str:
    if d.verdict == Verdict.REDACTED:
        return "redacted: " + ", ".join(f"`{p}`" for p in d.redact)
    return d.verdict.value


def policy_table_markdown() -> str:
    """The policy as Markdown: one table per stage (event kind × viewer), for an unannounced
    visit (暗访) problem named in a published bulletin."""
    lines: list[str] = []
    for stage in STAGES:
        facts = example_facts(stage, unannounced=True)
        lines.append(f"#### stage `{stage.value}`")
        lines.append("")
        lines.append("| event kind | " + " | ".join(name for name, _ in VIEWERS) + " |")
        lines.append("| --- |" + " --- |" * len(VIEWERS))
        for sample, label in KINDS:
            if sample in REMOVAL and stage != Stage.WITHDRAWN:
                continue
            cells = [_cell(decide(v, sample, facts, sequence=2)) for _, v in VIEWERS]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        seen = ["yes" if may_see_problem(v, facts) else "no" for _, v in VIEWERS]
        lines.append("| *the problem in lists and figures* | " + " | ".join(seen) + " |")
        lines.append("")
    return "\n".join(lines)
