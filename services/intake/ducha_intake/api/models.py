"""Request bodies of the intake API (also what an import row becomes)."""

from __future__ import annotations

from datetime import date

from ducha.contracts.base import Role
from ducha.contracts.common import EvidenceRef, FoundBy, Id, Severity, ShortText, Text, UnitKind
from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Contact(Body):
    contact_name: str = Field(default="", max_length=200)
    contact_phone: str = Field(default="", max_length=100)
    contact_email: str = Field(default="", max_length=200)


class UnitIn(Contact):
    id: Id = Field(description="单位编码, e.g. U001")
    name: ShortText = Field(description="单位名称")
    kind: UnitKind = Field(description="类型: district 区县 / department 部门 / enterprise 企业")
    parent_id: Id | None = Field(default=None, description="上级单位编码")


class UnitUpdateIn(Contact):
    name: ShortText
    kind: UnitKind
    parent_id: Id | None = None


class HelperIn(Contact):
    id: Id = Field(description="部门编码")
    name: ShortText = Field(description="部门名称")


class PersonIn(Body):
    id: Id = Field(description="人员编号")
    name: ShortText
    role: Role
    org_id: Id | None = Field(default=None, description="所属单位/部门编码")
    title: str = Field(default="", max_length=200, description="职务")
    phone: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=200)


class RoundIn(Body):
    number: int = Field(ge=1, description="第N轮")
    name: ShortText
    starts_on: date
    ends_on: date
    focus_areas: list[ShortText] = Field(min_length=1, description="重点领域, e.g. 重大项目建设")
    look_back_of: Id | None = Field(default=None, description="回头看: the earlier round re-checked")
    deadline_commit_days: int = Field(default=3, ge=1, le=30)
    max_rectification_days: int = Field(default=90, ge=1, le=730)
    severe_max_rectification_days: int = Field(default=30, ge=1, le=730)
    yellow_days: int = Field(default=3, ge=0, le=60)
    revisit_after_days: int = Field(default=30, ge=1, le=365)


class NoteIn(Body):
    note: str = Field(default="", max_length=4000)


class ReasonIn(Body):
    reason: Text


class ContentIn(Body):
    round_id: Id
    title: ShortText
    description: Text
    focus_area: ShortText
    unit_ids: list[Id] = Field(min_length=1)
    team_id: Id | None = Field(default=None, description="a team drafting content must name itself")
    locations: list[ShortText] = []


class ContentRevisionIn(Body):
    title: ShortText
    description: Text
    focus_area: ShortText
    unit_ids: list[Id] = Field(min_length=1)
    team_id: Id | None = None
    locations: list[ShortText] = []


class TeamIn(Body):
    round_id: Id
    name: ShortText = Field(description="e.g. 第一督查督导组")
    leader_id: Id = Field(description="registered person: 组长")
    member_ids: list[Id] = []


class AssignIn(Body):
    unit_ids: list[Id] = Field(min_length=1)


class ProblemIn(Body):
    content_id: Id
    unit_id: Id
    title: ShortText
    description: Text
    category: ShortText = Field(description="one of the round's focus areas")
    severity: Severity
    location: str = Field(default="", max_length=500)
    found_on: date
    found_by: FoundBy
    evidence: list[EvidenceRef] = []
    publishable: bool = False
    suggested_deadline_days: int | None = Field(default=None, ge=1, le=730)
    repeat_of: Id | None = Field(default=None, description="the earlier round's problem (look-back only)")


class AmendIn(Body):
    reason: Text
    title: ShortText | None = None
    description: Text | None = None
    category: ShortText | None = None
    severity: Severity | None = None
    location: str | None = Field(default=None, max_length=500)
    evidence: list[EvidenceRef] | None = None
    publishable: bool | None = None
    suggested_deadline_days: int | None = Field(default=None, ge=1, le=730)


class DuplicateIn(Body):
    duplicate_of: Id
    reason: Text


class FeedBackIn(Body):
    responsible_person: ShortText = Field(description="主体责任人")
    responsible_person_title: str = Field(default="", max_length=200)
    responsible_person_id: Id | None = None
    requirements: str = Field(default="", max_length=4000, description="整改要求")


class SuggestionIn(Body):
    title: ShortText
    content: Text
    problem_ids: list[Id] = []


class HandleIn(Body):
    decision: ShortText = Field(description="e.g. 采纳, 部分采纳, 不予采纳")
    note: str = Field(default="", max_length=4000)
