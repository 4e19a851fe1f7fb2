"""Events of the verification context: review and acceptance, write-off, revisits, spot checks,
re-checks and accountability. Context token: `verification`.

Aggregates (aggregate_type: id; unit token):
  problem: problem id; the problem's unit   ledger: round id; "_" (gapless write-off numbers)
  spotcheck: spot check id; "_"              recheck: re-check id; "_"
  decision: decision id; the unit concerned (accountability / tolerance)
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from .base import DomainEvent
from .common import EvidenceRef, Id, ShortText, Text
from .registry import registry

CONTEXT = "verification"


class _Ver(DomainEvent):
    context = CONTEXT


class Effectiveness(StrEnum):
    GOOD = "good"  # 好
    FAIR = "fair"  # 较好
    POOR = "poor"  # 一般


class ReviewOutcome(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@registry.register
class ReviewProposed(_Ver):
    """First step of a two-step review (severe problems): a team member other than the leader
    proposes; the team leader confirms (RectificationVerified / RectificationRejected with
    `proposed_by`) or returns the proposal (ReviewProposalReturned). One proposal pending at a time."""

    event_type = "ReviewProposed"
    label_zh = "提出审核意见"
    aggregate_type = "problem"
    submission_no: int = Field(ge=1)
    outcome: ReviewOutcome
    effectiveness: Effectiveness | None = None
    assessment: str = ""
    reasons: tuple[Text, ...] = ()


@registry.register
class ReviewProposalReturned(_Ver):
    """The team leader returned a pending review proposal instead of confirming it; the submission
    awaits a new proposal."""

    event_type = "ReviewProposalReturned"
    label_zh = "退回审核意见"
    aggregate_type = "problem"
    submission_no: int = Field(ge=1)
    reason: Text
    proposed_by: Id


@registry.register
class RectificationVerified(_Ver):
    """Review and acceptance (审核验收) passed, with an effectiveness assessment (评估问效)."""

    event_type = "RectificationVerified"
    label_zh = "审核验收通过"
    aggregate_type = "problem"
    submission_no: int = Field(ge=1)
    effectiveness: Effectiveness
    assessment: Text
    proposed_by: Id | None = None


@registry.register
class RectificationRejected(_Ver):
    """Review rejected the submission; rectification must start again (with these reasons)."""

    event_type = "RectificationRejected"
    label_zh = "审核验收未通过"
    aggregate_type = "problem"
    submission_no: int = Field(ge=1)
    reasons: tuple[Text, ...] = Field(min_length=1)
    proposed_by: Id | None = None


@registry.register
class LedgerEntryRecorded(_Ver):
    """A write-off ledger (销号台账) line: numbers are sequential per round, never reused."""

    event_type = "LedgerEntryRecorded"
    label_zh = "登记销号台账"
    aggregate_type = "ledger"
    ledger_no: int = Field(ge=1)
    problem_id: Id
    unit_id: Id
    submission_no: int | None = Field(default=None, ge=1, description="the accepted submission written off")


@registry.register
class ProblemWrittenOff(_Ver):
    """The accepted problem was entered on the ledger and written off (入账销号)."""

    event_type = "ProblemWrittenOff"
    label_zh = "入账销号"
    aggregate_type = "problem"
    round_id: Id
    ledger_no: int = Field(ge=1)
    revisit_due_on: date
    submission_no: int | None = Field(default=None, ge=1, description="the accepted submission written off")


class RevisitOutcome(StrEnum):
    HELD = "held"  # 不反弹
    REBOUNDED = "rebounded"  # 反弹


@registry.register
class RevisitRecorded(_Ver):
    """On-site revisit (回访) after write-off."""

    event_type = "RevisitRecorded"
    label_zh = "回访"
    aggregate_type = "problem"
    outcome: RevisitOutcome
    findings: Text
    visited_on: date
    ledger_no: int | None = Field(default=None, ge=1, description="the write-off this revisit follows up")
    evidence: tuple[EvidenceRef, ...] = ()


@registry.register
class SpotCheckDrawn(_Ver):
    """The office drew a random sample (抽查); `seed` reproduces it from the same population."""

    event_type = "SpotCheckDrawn"
    label_zh = "抽取抽查样本"
    aggregate_type = "spotcheck"
    round_id: Id
    population: ShortText = Field(description="written_off or achievements")
    population_ids: tuple[Id, ...]
    sample_size: int = Field(ge=1)
    seed: int
    selected_ids: tuple[Id, ...]


@registry.register
class SpotCheckFindingRecorded(_Ver):
    event_type = "SpotCheckFindingRecorded"
    label_zh = "记录抽查结果"
    aggregate_type = "spotcheck"
    problem_id: Id
    confirmed: bool = Field(description="the claimed result holds on site")
    findings: Text
    evidence: tuple[EvidenceRef, ...] = ()


class RecheckStatus(StrEnum):
    NOT_DONE = "not_done"  # 未完成: the reason found
    IN_PROGRESS = "in_progress"  # 推进中: how far
    DONE = "done"  # 已完成: result and effect confirmed


@registry.register
class RecheckRecorded(_Ver):
    """Investigation and re-check (调查复核) of an important matter."""

    event_type = "RecheckRecorded"
    label_zh = "调查复核"
    aggregate_type = "recheck"
    round_id: Id
    subject: ShortText
    problem_id: Id
    status: RecheckStatus
    detail: Text = Field(description="reason not done / how far / confirmed result and effect")
    means: tuple[ShortText, ...] = Field(default=(), description="e.g. 实地核查, 调阅资料, 走访群众")


class DecisionKind(StrEnum):
    ACCOUNTABILITY = "accountability"  # 问责
    TOLERANCE = "tolerance"  # 容错纠错


@registry.register
class AccountabilityDecided(_Ver):
    """Cadre supervision's accountability (问责) or tolerance (容错纠错) decision."""

    event_type = "AccountabilityDecided"
    label_zh = "问责/容错纠错决定"
    aggregate_type = "decision"
    kind: DecisionKind
    problem_id: Id | None = None
    unit_id: Id
    person_name: str = ""
    basis: Text
    decision: Text
    round_id: Id | None = Field(default=None, description="the round concerned (the problem's round)")
