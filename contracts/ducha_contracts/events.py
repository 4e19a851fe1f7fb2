"""The events a department may receive on its part of DUCHA_DEPT: generated from Ducha's contracts
and disclosure policy by `python -m ducha.contracts.publicgen`; do not edit. Fields the policy may
redact are optional here (absent when `redacted` names them)."""

# fmt: off
from __future__ import annotations

from typing import Annotated, Literal  # noqa: F401

from pydantic import Field  # noqa: F401


from annotated_types import Ge, Le, MaxLen, MinLen  # noqa: F401
from datetime import date, datetime  # noqa: F401
from ducha_contracts.envelope import PublicEvent, PublicModel, Role, registry  # noqa: F401
from enum import StrEnum  # noqa: F401
from pydantic import StringConstraints  # noqa: F401


class DeadlineChange(StrEnum):
    COMMITTED = 'committed'
    REVISED = 'revised'
    REQUIRED_BY_TEAM = 'required_by_team'
    EXTENSION_GRANTED = 'extension_granted'
    RESET_AFTER_REOPEN = 'reset_after_reopen'


class DecisionKind(StrEnum):
    ACCOUNTABILITY = 'accountability'
    TOLERANCE = 'tolerance'


class DispatchKind(StrEnum):
    DISPATCH = 'dispatch'
    UNANNOUNCED_VISIT = 'unannounced_visit'


class Effectiveness(StrEnum):
    GOOD = 'good'
    FAIR = 'fair'
    POOR = 'poor'


class FoundBy(StrEnum):
    ON_SITE = 'on_site'
    UNANNOUNCED = 'unannounced'
    DISPATCH = 'dispatch'
    PUBLIC_REPORT = 'public_report'


class ReminderKind(StrEnum):
    REMINDER = 'reminder'
    CORRECTION = 'correction'


class ReopenCause(StrEnum):
    REJECTED = 'rejected'
    REBOUNDED = 'rebounded'


class RevisitOutcome(StrEnum):
    HELD = 'held'
    REBOUNDED = 'rebounded'


class Severity(StrEnum):
    GENERAL = 'general'
    SERIOUS = 'serious'
    SEVERE = 'severe'


class UnitKind(StrEnum):
    DISTRICT = 'district'
    DEPARTMENT = 'department'
    ENTERPRISE = 'enterprise'


class EvidenceRef(PublicModel):
    """A piece of evidence: a stored file by content hash (`sha256:<hex>`), or a document number."""

    ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(description='what it is, e.g. 整改前后对比照片')


@registry.register
class IssueAmended(PublicEvent):
    """A correction of a reported problem: the new values of the fields that changed."""

    event_type = 'IssueAmended'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'problem'
    label_zh = '更正问题'
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] | None = None
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    severity: Severity | None = None
    location: str | None = None
    evidence: tuple[EvidenceRef, ...] | None = None
    publishable: bool | None = None
    suggested_deadline_days: int | None = None


@registry.register
class IssueFedBack(PublicEvent):
    """The team fed the problem back (交办) to the unit, naming who is responsible (主体责任). From now on the unit sees it and rectification starts."""

    event_type = 'IssueFedBack'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'problem'
    label_zh = '交办问题'
    responsible_person: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    responsible_person_title: str = ''
    responsible_person_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = Field(default=None, description="the responsible person's directory id, when registered")
    requirements: str = Field(default='', description='what the team requires of the unit')
    commit_deadline_by: date = Field(description='the unit must commit a rectification deadline by then')
    max_deadline: date = Field(description='latest deadline the unit may commit')
    fed_back_at: datetime


@registry.register
class IssueMarkedDuplicate(PublicEvent):
    event_type = 'IssueMarkedDuplicate'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'problem'
    label_zh = '标记重复问题'
    duplicate_of: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] | None = None


@registry.register
class IssueReported(PublicEvent):
    """A team found a problem (问题) at a unit, under approved inspection content."""

    event_type = 'IssueReported'
    schema_version = 2
    context = 'intake'
    aggregate_type = 'problem'
    label_zh = '上报问题'
    round_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    team_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    content_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(description='focus area, e.g. 招商引资')
    severity: Severity
    location: str = ''
    found_on: date
    found_by: FoundBy
    evidence: tuple[EvidenceRef, ...] = ()
    publishable: bool = Field(description='may be named in public bulletins')
    suggested_deadline_days: Annotated[int | None, Ge(ge=1), Le(le=730)] = Field(default=None, description="the team's suggested deadline policy, days after feedback")
    repeat_of: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = Field(default=None, description="the earlier round's problem found again (贰过) in a look-back")
    repeat_of_unit_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None
    supervision_no: Annotated[str, MaxLen(max_length=32)] = Field(default='', description='督办编号 people say on the phone: <year>-<round number>-<4-digit sequence of the round>, gapless per round (see SupervisionNumberIssued); empty for problems reported before v2')


@registry.register
class IssueWithdrawn(PublicEvent):
    event_type = 'IssueWithdrawn'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'problem'
    label_zh = '撤回问题'
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] | None = None


@registry.register
class PersonRegistered(PublicEvent):
    """A person who works in Ducha: office staff, team member, unit or helper contact, cadre."""

    event_type = 'PersonRegistered'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'person'
    label_zh = '登记人员'
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: Role
    org_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = Field(default=None, description='unit or helper department of the person')
    title: str = Field(default='', description='post, e.g. 副区长')
    phone: str = ''
    email: str = ''


@registry.register
class UnitRegistered(PublicEvent):
    """An inspected unit (被督查单位) entered the directory."""

    event_type = 'UnitRegistered'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'unit'
    label_zh = '登记被督查单位'
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(description='Chinese name, e.g. 城关区人民政府')
    kind: UnitKind
    parent_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = Field(default=None, description='e.g. the district of an enterprise')
    contact_name: str = ''
    contact_phone: str = ''
    contact_email: str = ''


@registry.register
class UnitUpdated(PublicEvent):
    """Corrected directory details of a unit (the id never changes)."""

    event_type = 'UnitUpdated'
    schema_version = 1
    context = 'intake'
    aggregate_type = 'unit'
    label_zh = '更正单位信息'
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: UnitKind
    parent_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None
    contact_name: str = ''
    contact_phone: str = ''
    contact_email: str = ''


@registry.register
class DeadlineApproaching(PublicEvent):
    """The light turned yellow: the deadline is within the round's yellow days (system, once per deadline)."""

    event_type = 'DeadlineApproaching'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '临近整改时限（黄灯）'
    deadline: date
    days_left: int


@registry.register
class DeadlineCommitmentMissed(PublicEvent):
    """The unit did not commit a deadline by the date the round allows (system event, once)."""

    event_type = 'DeadlineCommitmentMissed'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '未按期承诺整改时限'
    commit_deadline_by: date


@registry.register
class DeadlineMissed(PublicEvent):
    """The light turned red: the deadline passed without a submission (system, once per deadline)."""

    event_type = 'DeadlineMissed'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '超过整改时限（红灯）'
    deadline: date


@registry.register
class DeadlineSet(PublicEvent):
    """A rectification deadline (整改时限) was set or changed. Every change is its own event with a reason, so postponements can be counted."""

    event_type = 'DeadlineSet'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '设定整改时限'
    deadline: date
    change: DeadlineChange
    plan: str = Field(default='', description='rectification plan (整改方案/措施)')
    reason: str = ''
    previous_deadline: date | None = None


@registry.register
class DispatchRecorded(PublicEvent):
    """A team's dispatch check-in (调度) or unannounced visit (暗访), with findings."""

    event_type = 'DispatchRecorded'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '调度/暗访'
    kind: DispatchKind
    findings: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    visited_on: date
    evidence: tuple[EvidenceRef, ...] = ()


@registry.register
class ExtensionGranted(PublicEvent):
    event_type = 'ExtensionGranted'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '同意延期'
    request_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    new_deadline: date
    note: str = ''


@registry.register
class ExtensionRefused(PublicEvent):
    event_type = 'ExtensionRefused'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '不同意延期'
    request_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@registry.register
class ExtensionRequested(PublicEvent):
    event_type = 'ExtensionRequested'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '申请延期'
    request_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    requested_deadline: date
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@registry.register
class HelpReported(PublicEvent):
    """What the helper department did."""

    event_type = 'HelpReported'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '报告帮扶情况'
    help_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    helper_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@registry.register
class HelpRequested(PublicEvent):
    """The unit asked for help with a difficulty (督帮一体)."""

    event_type = 'HelpRequested'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '申请帮扶'
    help_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    difficulty: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@registry.register
class HelperAssigned(PublicEvent):
    """The office assigned a helper department (市直相关单位). Help never takes over the unit's responsibility (到位不越位)."""

    event_type = 'HelperAssigned'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '指派帮扶单位'
    help_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    helper_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    helper_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    note: str = ''


@registry.register
class ProgressReported(PublicEvent):
    """The unit reported rectification progress (整改进展)."""

    event_type = 'ProgressReported'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '报告整改进展'
    percent: Annotated[int, Ge(ge=0), Le(le=100)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    evidence: tuple[EvidenceRef, ...] = ()


@registry.register
class RectificationReopened(PublicEvent):
    """The problem must be rectified again: its review was rejected, or it rebounded after write-off. Caused by verification's event (causation id)."""

    event_type = 'RectificationReopened'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '重新整改'
    cause: ReopenCause
    reasons: Annotated[tuple[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)], ...], MinLen(min_length=1)]
    source_event_id: str


@registry.register
class RectificationSubmitted(PublicEvent):
    """The unit declared the rectification done, with evidence; verification reviews it."""

    event_type = 'RectificationSubmitted'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '提交整改'
    submission_no: Annotated[int, Ge(ge=1)] = Field(description='1 for the first submission, 2 after one rejection, ...')
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    evidence: Annotated[tuple[EvidenceRef, ...], MinLen(min_length=1)]


@registry.register
class ReminderAcknowledged(PublicEvent):
    event_type = 'ReminderAcknowledged'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '确认提醒'
    reminder_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    note: str = ''


@registry.register
class ReminderIssued(PublicEvent):
    """A reminder or correction the unit must acknowledge."""

    event_type = 'ReminderIssued'
    schema_version = 1
    context = 'rectification'
    aggregate_type = 'problem'
    label_zh = '提醒/催办'
    reminder_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    kind: ReminderKind
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@registry.register
class AccountabilityDecided(PublicEvent):
    """Cadre supervision's accountability (问责) or tolerance (容错纠错) decision."""

    event_type = 'AccountabilityDecided'
    schema_version = 1
    context = 'verification'
    aggregate_type = 'decision'
    label_zh = '问责/容错纠错决定'
    kind: DecisionKind
    problem_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None
    unit_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    person_name: str = ''
    basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    decision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    round_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = Field(default=None, description="the round concerned (the problem's round)")


@registry.register
class ProblemWrittenOff(PublicEvent):
    """The accepted problem was entered on the ledger and written off (入账销号)."""

    event_type = 'ProblemWrittenOff'
    schema_version = 1
    context = 'verification'
    aggregate_type = 'problem'
    label_zh = '入账销号'
    round_id: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')]
    ledger_no: Annotated[int, Ge(ge=1)]
    revisit_due_on: date
    submission_no: Annotated[int | None, Ge(ge=1)] = Field(default=None, description='the accepted submission written off')


@registry.register
class RectificationRejected(PublicEvent):
    """Review rejected the submission; rectification must start again (with these reasons)."""

    event_type = 'RectificationRejected'
    schema_version = 1
    context = 'verification'
    aggregate_type = 'problem'
    label_zh = '审核验收未通过'
    submission_no: Annotated[int, Ge(ge=1)]
    reasons: Annotated[tuple[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)], ...], MinLen(min_length=1)]
    proposed_by: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None


@registry.register
class RectificationVerified(PublicEvent):
    """Review and acceptance (审核验收) passed, with an effectiveness assessment (评估问效)."""

    event_type = 'RectificationVerified'
    schema_version = 1
    context = 'verification'
    aggregate_type = 'problem'
    label_zh = '审核验收通过'
    submission_no: Annotated[int, Ge(ge=1)]
    effectiveness: Effectiveness
    assessment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    proposed_by: Annotated[str, StringConstraints(pattern='^[A-Za-z0-9_-]{1,64}$')] | None = None


@registry.register
class RevisitRecorded(PublicEvent):
    """On-site revisit (回访) after write-off."""

    event_type = 'RevisitRecorded'
    schema_version = 1
    context = 'verification'
    aggregate_type = 'problem'
    label_zh = '回访'
    outcome: RevisitOutcome
    findings: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    visited_on: date
    ledger_no: Annotated[int | None, Ge(ge=1)] = Field(default=None, description='the write-off this revisit follows up')
    evidence: tuple[EvidenceRef, ...] = ()


DEPARTMENT_EVENTS: tuple[str, ...] = (
    'AccountabilityDecided',
    'DeadlineApproaching',
    'DeadlineCommitmentMissed',
    'DeadlineMissed',
    'DeadlineSet',
    'DispatchRecorded',
    'ExtensionGranted',
    'ExtensionRefused',
    'ExtensionRequested',
    'HelpReported',
    'HelpRequested',
    'HelperAssigned',
    'IssueAmended',
    'IssueFedBack',
    'IssueMarkedDuplicate',
    'IssueReported',
    'IssueWithdrawn',
    'PersonRegistered',
    'ProblemWrittenOff',
    'ProgressReported',
    'RectificationRejected',
    'RectificationReopened',
    'RectificationSubmitted',
    'RectificationVerified',
    'ReminderAcknowledged',
    'ReminderIssued',
    'RevisitRecorded',
    'UnitRegistered',
    'UnitUpdated',
)

REDACTABLE: dict[str, tuple[str, ...]] = {
    'IssueMarkedDuplicate': ('duplicate_of', 'reason'),
    'IssueWithdrawn': ('duplicate_of', 'reason'),
    'RectificationRejected': ('proposed_by',),
    'RectificationVerified': ('proposed_by',),
}
