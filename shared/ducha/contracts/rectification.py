"""Events of the rectification context: what happens to a problem between feedback and submission.
Context token: `rectification`. One aggregate per problem (aggregate_type `problem`, same id and
unit as in intake), so `ducha.ev.*.<unit>.problem.<id>.*` is the problem's whole history.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from .base import DomainEvent
from .common import EvidenceRef, Id, ShortText, Text
from .registry import registry

CONTEXT = "rectification"


class _Rect(DomainEvent):
    context = CONTEXT
    aggregate_type = "problem"


class DeadlineChange(StrEnum):
    COMMITTED = "committed"  # the unit's first commitment (承诺整改时限)
    REVISED = "revised"  # the unit changed its own deadline (counts as a postponement if later)
    REQUIRED_BY_TEAM = "required_by_team"  # the team required a shorter one for a severe problem
    EXTENSION_GRANTED = "extension_granted"  # after an extension request was granted
    RESET_AFTER_REOPEN = "reset_after_reopen"  # a new deadline after rejection or rebound


@registry.register
class DeadlineSet(_Rect):
    """A rectification deadline (整改时限) was set or changed. Every change is its own event with a
    reason, so postponements can be counted."""

    event_type = "DeadlineSet"
    label_zh = "设定整改时限"
    deadline: date
    change: DeadlineChange
    plan: str = Field(default="", description="rectification plan (整改方案/措施)")
    reason: str = ""
    previous_deadline: date | None = None


@registry.register
class DeadlineCommitmentMissed(_Rect):
    """The unit did not commit a deadline by the date the round allows (system event, once)."""

    event_type = "DeadlineCommitmentMissed"
    label_zh = "未按期承诺整改时限"
    commit_deadline_by: date


@registry.register
class ExtensionRequested(_Rect):
    event_type = "ExtensionRequested"
    label_zh = "申请延期"
    request_id: Id
    requested_deadline: date
    reason: Text


@registry.register
class ExtensionGranted(_Rect):
    event_type = "ExtensionGranted"
    label_zh = "同意延期"
    request_id: Id
    new_deadline: date
    note: str = ""


@registry.register
class ExtensionRefused(_Rect):
    event_type = "ExtensionRefused"
    label_zh = "不同意延期"
    request_id: Id
    reason: Text


@registry.register
class ProgressReported(_Rect):
    """The unit reported rectification progress (整改进展)."""

    event_type = "ProgressReported"
    label_zh = "报告整改进展"
    percent: int = Field(ge=0, le=100)
    text: Text
    evidence: tuple[EvidenceRef, ...] = ()


class DispatchKind(StrEnum):
    DISPATCH = "dispatch"  # 调度
    UNANNOUNCED_VISIT = "unannounced_visit"  # 暗访


@registry.register
class DispatchRecorded(_Rect):
    """A team's dispatch check-in (调度) or unannounced visit (暗访), with findings."""

    event_type = "DispatchRecorded"
    label_zh = "调度/暗访"
    kind: DispatchKind
    findings: Text
    visited_on: date
    evidence: tuple[EvidenceRef, ...] = ()


class ReminderKind(StrEnum):
    REMINDER = "reminder"  # 提醒/催办
    CORRECTION = "correction"  # 纠正


@registry.register
class ReminderIssued(_Rect):
    """A reminder or correction the unit must acknowledge."""

    event_type = "ReminderIssued"
    label_zh = "提醒/催办"
    reminder_id: Id
    kind: ReminderKind
    text: Text


@registry.register
class ReminderAcknowledged(_Rect):
    event_type = "ReminderAcknowledged"
    label_zh = "确认提醒"
    reminder_id: Id
    note: str = ""


@registry.register
class HelpRequested(_Rect):
    """The unit asked for help with a difficulty (督帮一体)."""

    event_type = "HelpRequested"
    label_zh = "申请帮扶"
    help_id: Id
    difficulty: Text


@registry.register
class HelperAssigned(_Rect):
    """The office assigned a helper department (市直相关单位). Help never takes over the unit's
    responsibility (到位不越位)."""

    event_type = "HelperAssigned"
    label_zh = "指派帮扶单位"
    help_id: Id
    helper_id: Id
    helper_name: ShortText
    note: str = ""


@registry.register
class HelpReported(_Rect):
    """What the helper department did."""

    event_type = "HelpReported"
    label_zh = "报告帮扶情况"
    help_id: Id
    helper_id: Id
    text: Text


@registry.register
class RectificationSubmitted(_Rect):
    """The unit declared the rectification done, with evidence; verification reviews it."""

    event_type = "RectificationSubmitted"
    label_zh = "提交整改"
    submission_no: int = Field(ge=1, description="1 for the first submission, 2 after one rejection, ...")
    description: Text
    evidence: tuple[EvidenceRef, ...] = Field(min_length=1)


class ReopenCause(StrEnum):
    REJECTED = "rejected"  # review rejected the submission
    REBOUNDED = "rebounded"  # the revisit found the problem back (反弹)


@registry.register
class RectificationReopened(_Rect):
    """The problem must be rectified again: its review was rejected, or it rebounded after
    write-off. Caused by verification's event (causation id)."""

    event_type = "RectificationReopened"
    label_zh = "重新整改"
    cause: ReopenCause
    reasons: tuple[Text, ...] = Field(min_length=1)
    source_event_id: str


@registry.register
class DeadlineApproaching(_Rect):
    """The light turned yellow: the deadline is within the round's yellow days (system, once per
    deadline)."""

    event_type = "DeadlineApproaching"
    label_zh = "临近整改时限（黄灯）"
    deadline: date
    days_left: int


@registry.register
class DeadlineMissed(_Rect):
    """The light turned red: the deadline passed without a submission (system, once per deadline)."""

    event_type = "DeadlineMissed"
    label_zh = "超过整改时限（红灯）"
    deadline: date
