"""Request and response bodies of the rectification API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from ducha.contracts.common import EvidenceRef, Id, ShortText, Text
from ducha.contracts.rectification import DispatchKind, ReminderKind
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _utc(value: Any) -> Any:
    # SQLite hands back the stored UTC instants without their zone; the API documents date-time
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_utc)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetDeadline(Body):
    deadline: date
    plan: str = Field(default="", max_length=4000, description="整改方案/措施; required for the first commitment")
    reason: str = Field(default="", max_length=2000, description="required when changing a committed deadline")


class RequireShorterDeadline(Body):
    deadline: date
    reason: Text


class RequestExtension(Body):
    requested_deadline: date
    reason: Text


class GrantExtension(Body):
    new_deadline: date | None = Field(default=None, description="default: the requested deadline")
    note: str = Field(default="", max_length=2000)


class RefuseExtension(Body):
    reason: Text


class ReportProgress(Body):
    percent: int = Field(ge=0, le=100)
    text: Text
    evidence: tuple[EvidenceRef, ...] = ()


class RecordDispatch(Body):
    kind: DispatchKind = DispatchKind.DISPATCH
    findings: Text
    visited_on: date
    evidence: tuple[EvidenceRef, ...] = ()


class IssueReminder(Body):
    kind: ReminderKind = ReminderKind.REMINDER
    text: Text


class AcknowledgeReminder(Body):
    note: str = Field(default="", max_length=2000)


class RequestHelp(Body):
    difficulty: Text


class AssignHelper(Body):
    helper_id: Id
    helper_name: ShortText
    note: str = Field(default="", max_length=2000)


class ReportHelp(Body):
    text: Text


class Submit(Body):
    description: Text
    # Validated in the domain (not with min_length) so the refusal names the rule, not a length.
    evidence: tuple[EvidenceRef, ...] = ()


class LedgerRow(BaseModel):
    problem_id: str
    supervision_no: str | None = Field(default=None, description="督办编号, e.g. 2026-2-0001")
    title: str
    category: str
    severity: str
    unit_id: str
    unit_name: str
    team_id: str
    team_name: str
    round_id: str
    round_name: str
    responsible_person: str | None
    status: str
    deadline: date | None
    commit_deadline_by: date | None
    max_deadline: date | None
    light: str | None = Field(description="green / yellow / red; null when nothing is due")
    days_left: int | None = Field(description="days to the deadline; negative = overdue")
    overdue_days: int
    progress: int
    plan: str | None
    submission_no: int
    postponements: int
    deadline_changes: int
    reopen_count: int
    rebound_count: int
    last_reopen_cause: str | None
    last_rejection_reasons: list[str]
    commitment_missed: bool
    pending_extension_id: str | None
    open_reminders: int
    dispatch_count: int
    ledger_no: int | None
    updated_at: UtcDateTime


class LedgerPage(BaseModel):
    items: list[LedgerRow]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page (keyset "
                                    "paging: the same cost at any depth); null on the last page")
    today: date


class ProblemDetail(LedgerRow):
    requirements: str | None
    responsible_person_title: str | None
    extensions: list[dict[str, Any]]
    reminders: list[dict[str, Any]]
    helps: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
