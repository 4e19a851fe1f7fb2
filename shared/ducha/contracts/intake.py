"""Events of the intake context: the directory, rounds, inspection content, teams, problems as
reported and fed back, and suggestions. Context token: `intake`.

Aggregates (aggregate_type: id; unit token):
  unit: unit id; the unit itself         helper: helper department id; "_"
  person: person id; "_"                 round: round id; "_"
  content: content id; "_"               team: team id; "_"
  problem: problem id; the problem's unit  suggestion: suggestion id; "_"
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from .base import DomainEvent, Role
from .common import EvidenceRef, FoundBy, Id, Severity, ShortText, Text, UnitKind
from .registry import registry

CONTEXT = "intake"


class _Intake(DomainEvent):
    context = CONTEXT


# ------------------------------------------------------------------ directory
@registry.register
class UnitRegistered(_Intake):
    """An inspected unit (被督查单位) entered the directory."""

    event_type = "UnitRegistered"
    label_zh = "登记被督查单位"
    aggregate_type = "unit"
    name: ShortText = Field(description="Chinese name, e.g. 城关区人民政府")
    kind: UnitKind
    parent_id: Id | None = Field(default=None, description="e.g. the district of an enterprise")
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


@registry.register
class UnitUpdated(_Intake):
    """Corrected directory details of a unit (the id never changes)."""

    event_type = "UnitUpdated"
    label_zh = "更正单位信息"
    aggregate_type = "unit"
    name: ShortText
    kind: UnitKind
    parent_id: Id | None = None
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


@registry.register
class HelperDepartmentRegistered(_Intake):
    """A city department (市直相关单位) that can be assigned to help units."""

    event_type = "HelperDepartmentRegistered"
    label_zh = "登记市直相关单位"
    aggregate_type = "helper"
    name: ShortText
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


@registry.register
class PersonRegistered(_Intake):
    """A person who works in Ducha: office staff, team member, unit or helper contact, cadre."""

    event_type = "PersonRegistered"
    label_zh = "登记人员"
    aggregate_type = "person"
    name: ShortText
    role: Role
    org_id: Id | None = Field(default=None, description="unit or helper department of the person")
    title: str = Field(default="", description="post, e.g. 副区长")
    phone: str = ""
    email: str = ""


# ---------------------------------------------------------------------- rounds
@registry.register
class RoundOpened(_Intake):
    """The office opened a supervision round (轮次)."""

    event_type = "RoundOpened"
    label_zh = "启动督查轮次"
    aggregate_type = "round"
    number: int = Field(ge=1, description="第N轮")
    name: ShortText = Field(description="e.g. 2026年第二轮常态化大督查")
    starts_on: date
    ends_on: date
    focus_areas: tuple[ShortText, ...] = Field(min_length=1, description="e.g. 重大项目建设")
    look_back_of: Id | None = Field(default=None, description="the earlier round this one re-checks (回头看)")
    deadline_commit_days: int = Field(
        default=3, ge=1, le=30, description="working days a unit has to commit a deadline after feedback"
    )
    max_rectification_days: int = Field(
        default=90, ge=1, le=730, description="latest deadline a unit may commit, in days after feedback"
    )
    severe_max_rectification_days: int = Field(
        default=30, ge=1, le=730, description="the same limit for severe problems"
    )
    yellow_days: int = Field(default=3, ge=0, le=60, description="days before a deadline the light turns yellow")
    revisit_after_days: int = Field(default=30, ge=1, le=365, description="days after write-off for the revisit")


@registry.register
class RoundClosed(_Intake):
    event_type = "RoundClosed"
    label_zh = "结束督查轮次"
    aggregate_type = "round"
    note: str = ""


# ----------------------------------------------------------- inspection content
@registry.register
class InspectionContentDrafted(_Intake):
    """Inspection content and plan (督查内容/方案) drafted for approval."""

    event_type = "InspectionContentDrafted"
    label_zh = "拟定督查内容"
    aggregate_type = "content"
    round_id: Id
    title: ShortText
    description: Text
    focus_area: ShortText
    unit_ids: tuple[Id, ...] = Field(min_length=1)
    team_id: Id | None = None
    locations: tuple[ShortText, ...] = ()


@registry.register
class InspectionContentRevised(_Intake):
    """A returned draft, revised for another approval."""

    event_type = "InspectionContentRevised"
    label_zh = "修改督查内容"
    aggregate_type = "content"
    title: ShortText
    description: Text
    focus_area: ShortText
    unit_ids: tuple[Id, ...] = Field(min_length=1)
    team_id: Id | None = None
    locations: tuple[ShortText, ...] = ()


@registry.register
class InspectionContentApproved(_Intake):
    event_type = "InspectionContentApproved"
    label_zh = "督查内容审批通过"
    aggregate_type = "content"
    note: str = ""


@registry.register
class InspectionContentReturned(_Intake):
    event_type = "InspectionContentReturned"
    label_zh = "督查内容退回"
    aggregate_type = "content"
    reason: Text


# ----------------------------------------------------------------------- teams
@registry.register
class TeamFormed(_Intake):
    """A supervision team (督查督导组) formed for a round."""

    event_type = "TeamFormed"
    label_zh = "组建督查督导组"
    aggregate_type = "team"
    round_id: Id
    name: ShortText = Field(description="e.g. 第一督查督导组")
    leader_id: Id = Field(description="副厅级组长")
    leader_name: ShortText
    member_ids: tuple[Id, ...] = ()
    member_names: tuple[ShortText, ...] = ()


@registry.register
class TeamAssignedToUnits(_Intake):
    event_type = "TeamAssignedToUnits"
    label_zh = "分配督查单位"
    aggregate_type = "team"
    unit_ids: tuple[Id, ...] = Field(min_length=1)


# -------------------------------------------------------------------- problems
@registry.register
class IssueReported(_Intake):
    """A team found a problem (问题) at a unit, under approved inspection content."""

    event_type = "IssueReported"
    label_zh = "上报问题"
    aggregate_type = "problem"
    schema_version = 2  # 2: supervision_no
    round_id: Id
    team_id: Id
    content_id: Id
    title: ShortText
    description: Text
    category: ShortText = Field(description="focus area, e.g. 招商引资")
    severity: Severity
    location: str = ""
    found_on: date
    found_by: FoundBy
    evidence: tuple[EvidenceRef, ...] = ()
    publishable: bool = Field(description="may be named in public bulletins")
    suggested_deadline_days: int | None = Field(
        default=None, ge=1, le=730, description="the team's suggested deadline policy, days after feedback"
    )
    repeat_of: Id | None = Field(
        default=None, description="the earlier round's problem found again (贰过) in a look-back"
    )
    repeat_of_unit_id: Id | None = None
    supervision_no: str = Field(
        default="", max_length=32,
        description="督办编号 people say on the phone: <year>-<round number>-<4-digit sequence of the round>, "
                    "gapless per round (see SupervisionNumberIssued); empty for problems reported before v2",
    )


@registry.upcaster("IssueReported", 1)
def _issue_reported_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "supervision_no": ""}  # numbered only from v2 on; pages then show the id


@registry.register
class SupervisionNumberIssued(_Intake):
    """The next 督办编号 of a round, issued in the same atomic command as the problem's report
    (one series per round: the series' version is the last number, so numbers have no gaps)."""

    event_type = "SupervisionNumberIssued"
    label_zh = "编发督办编号"
    aggregate_type = "supervisionseries"
    number: int = Field(ge=1)
    supervision_no: str = Field(max_length=32)
    problem_id: Id


@registry.register
class IssueAmended(_Intake):
    """A correction of a reported problem: the new values of the fields that changed."""

    event_type = "IssueAmended"
    label_zh = "更正问题"
    aggregate_type = "problem"
    reason: Text
    title: ShortText | None = None
    description: Text | None = None
    category: ShortText | None = None
    severity: Severity | None = None
    location: str | None = None
    evidence: tuple[EvidenceRef, ...] | None = None
    publishable: bool | None = None
    suggested_deadline_days: int | None = None


@registry.register
class IssueWithdrawn(_Intake):
    event_type = "IssueWithdrawn"
    label_zh = "撤回问题"
    aggregate_type = "problem"
    reason: Text


@registry.register
class IssueMarkedDuplicate(_Intake):
    event_type = "IssueMarkedDuplicate"
    label_zh = "标记重复问题"
    aggregate_type = "problem"
    duplicate_of: Id
    reason: Text


@registry.register
class IssueFedBack(_Intake):
    """The team fed the problem back (交办) to the unit, naming who is responsible (主体责任).
    From now on the unit sees it and rectification starts."""

    event_type = "IssueFedBack"
    label_zh = "交办问题"
    aggregate_type = "problem"
    responsible_person: ShortText
    responsible_person_title: str = ""
    responsible_person_id: Id | None = Field(
        default=None, description="the responsible person's directory id, when registered"
    )
    requirements: str = Field(default="", description="what the team requires of the unit")
    commit_deadline_by: date = Field(description="the unit must commit a rectification deadline by then")
    max_deadline: date = Field(description="latest deadline the unit may commit")
    fed_back_at: datetime


# ----------------------------------------------------------------- suggestions
@registry.register
class SuggestionRecorded(_Intake):
    """A team's suggestion (建议) to the office."""

    event_type = "SuggestionRecorded"
    label_zh = "提出建议"
    aggregate_type = "suggestion"
    round_id: Id
    team_id: Id
    title: ShortText
    content: Text
    problem_ids: tuple[Id, ...] = ()


@registry.register
class SuggestionHandled(_Intake):
    """The office's decision on a suggestion (建议处理)."""

    event_type = "SuggestionHandled"
    label_zh = "处理建议"
    aggregate_type = "suggestion"
    decision: ShortText = Field(description="e.g. 采纳, 部分采纳, 不予采纳")
    note: str = ""
