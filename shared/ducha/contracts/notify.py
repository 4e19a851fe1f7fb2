"""Events of the notify context: webhook subscriptions and their deliveries, notifications
(reminders, escalations, digests) with every attempt, editable templates and bulletins (通报).
Context token: `notify`. Every notify aggregate uses the unit token "_" so that the service's own
bookkeeping never appears in a department's unit stream (`ducha.ev.*.<unit>.>`).

Aggregates (aggregate_type: id):
  subscription: subscription id            notification: cause id (derived, so once per cause)
  template: template kind                  bulletin: bulletin id
  bulletinseries: "city" (gapless 第N期 numbers)
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import Field

from .base import DomainEvent
from .common import Frozen, Id, ShortText, Text
from .registry import registry

CONTEXT = "notify"


class _Notify(DomainEvent):
    context = CONTEXT


# ---------------------------------------------------------------- webhooks
class WebhookFormat(StrEnum):
    JSON = "json"  # the stored envelope, wrapped with delivery id and sequence
    WECOM = "wecom"  # 企业微信群机器人 markdown
    DINGTALK = "dingtalk"  # 钉钉群机器人 markdown


@registry.register
class SubscriptionRegistered(_Notify):
    """A department registered a webhook for its unit's events. v2: `url` is redacted (robot keys,
    tokens, passwords masked as `***`) and `sealed_url` holds the whole URL encrypted with the
    service's webhook key; v1 stored the URL in clear (read as v2 with no sealed URL)."""

    event_type = "SubscriptionRegistered"
    label_zh = "登记订阅"
    schema_version = 2
    aggregate_type = "subscription"
    unit_id: Id
    url: str = Field(min_length=8, max_length=2000, description="the URL with its secret parts masked")
    sealed_url: str = Field(default="", max_length=4000,
                            description="the whole URL, encrypted (Fernet) with a key derived from the webhook key; "
                                        "empty when the URL has no secret part")
    event_types: tuple[ShortText, ...] = Field(default=(), description="empty: every event type")
    format: WebhookFormat = WebhookFormat.JSON
    description: str = ""
    reminders: bool = Field(default=True, description="a robot format also receives the unit's reminders")
    start_after: int = Field(default=0, ge=0, description="deliver events after this log sequence")


@registry.upcaster("SubscriptionRegistered", 1)
def _subscription_registered_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "sealed_url": ""}


@registry.register
class SubscriptionCancelled(_Notify):
    event_type = "SubscriptionCancelled"
    label_zh = "取消订阅"
    aggregate_type = "subscription"
    reason: str = ""


@registry.register
class WebhookReplayRequested(_Notify):
    """Deliver again every wanted event from `from_sequence` on, under new delivery ids."""

    event_type = "WebhookReplayRequested"
    label_zh = "请求重发推送"
    aggregate_type = "subscription"
    from_sequence: int = Field(ge=1)
    generation: int = Field(ge=1, description="1 for the first replay; part of the delivery ids")


@registry.register
class WebhookDeliveryAttempted(_Notify):
    """One HTTP attempt to deliver one event (ok: the receiver answered 2xx)."""

    event_type = "WebhookDeliveryAttempted"
    label_zh = "推送尝试"
    aggregate_type = "subscription"
    delivery_id: Id
    generation: int = Field(ge=0)
    source_sequence: int = Field(ge=1)
    source_event_type: str
    attempt: int = Field(ge=1)
    ok: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0


@registry.register
class WebhookDeadLettered(_Notify):
    """Delivery of one event was given up after the attempt limit; replay can send it again."""

    event_type = "WebhookDeadLettered"
    label_zh = "推送失败"
    aggregate_type = "subscription"
    delivery_id: Id
    generation: int = Field(ge=0)
    source_sequence: int = Field(ge=1)
    source_event_type: str
    attempts: int = Field(ge=1)
    last_error: str = ""


# ------------------------------------------------------------ notifications
class Channel(StrEnum):
    EMAIL = "email"
    ROBOT = "robot"  # the unit's WeCom / DingTalk robot subscription


class Recipient(Frozen):
    person_id: Id | None = None
    name: str = ""
    role: str = Field(description="unit, team, office, cadre, helper")
    org_id: Id | None = None
    email: str = ""


@registry.register
class NotificationRequested(_Notify):
    """A reminder, escalation or digest decided for one cause, with its rendered text and every
    recipient: the proof of who was to be warned about what."""

    event_type = "NotificationRequested"
    label_zh = "请求通知"
    aggregate_type = "notification"
    cause: str = Field(max_length=300, description="e.g. DeadlineMissed:<event id>, escalation:<problem>:<deadline>")
    kind: ShortText
    unit_id: Id | None = None
    team_id: Id | None = None
    problem_id: Id | None = None
    subject: ShortText
    body: Text
    recipients: tuple[Recipient, ...] = ()
    robot_subscription_ids: tuple[Id, ...] = ()
    template_version: int = Field(default=0, ge=0, description="0: the built-in default template")


@registry.register
class NotificationSent(_Notify):
    event_type = "NotificationSent"
    label_zh = "通知已发送"
    aggregate_type = "notification"
    channel: Channel
    address: str = Field(description="e-mail address or robot subscription id")
    person_id: Id | None = None
    attempt: int = Field(ge=1)


@registry.register
class NotificationFailed(_Notify):
    event_type = "NotificationFailed"
    label_zh = "通知发送失败"
    aggregate_type = "notification"
    channel: Channel
    address: str
    person_id: Id | None = None
    attempt: int = Field(ge=1)
    error: str
    final: bool = Field(description="no further attempt will be made")


@registry.register
class NotificationRead(_Notify):
    event_type = "NotificationRead"
    label_zh = "通知已读"
    aggregate_type = "notification"
    person_id: Id


# ---------------------------------------------------------------- templates
@registry.register
class TemplateUpdated(_Notify):
    """The office changed a message template (Python `{name}` placeholders)."""

    event_type = "TemplateUpdated"
    label_zh = "更新通知模板"
    aggregate_type = "template"
    kind: ShortText
    subject: ShortText
    body: Text


# ---------------------------------------------------------------- bulletins
class BulletinSection(Frozen):
    heading: ShortText
    paragraphs: tuple[str, ...] = ()


class RankingRow(Frozen):
    rank: int = Field(ge=1)
    unit_id: Id
    unit_name: str
    problems: int = Field(ge=0)
    rectified: int = Field(ge=0)
    overdue: int = Field(ge=0)
    rejected: int = Field(ge=0)
    rate_percent: int = Field(ge=0, le=100)
    # v2 (ducha.figures): the rates exactly as the dashboard and the statistics show them
    rate_text: str = Field(default="", description="整改率 as shown, e.g. 20.8%")
    on_time_text: str = Field(default="", description="按期整改率 as shown; empty in v1 bulletins")
    rebounds: int = Field(default=0, ge=0)


class NamedUnit(Frozen):
    unit_id: Id
    unit_name: str
    reason: str


class GoodPractice(Frozen):
    problem_id: Id
    unit_id: Id
    unit_name: str
    title: str
    assessment: str


class PublicProblem(Frozen):
    problem_id: Id
    unit_id: Id
    unit_name: str
    title: str
    category: str
    status: str


class BulletinContent(Frozen):
    """Everything needed to render a bulletin, now and years later."""

    title: ShortText
    issuer: ShortText = Field(description="e.g. 市常态化大督查领导小组办公室")
    round_id: Id
    round_name: str
    intro: str = ""
    sections: tuple[BulletinSection, ...] = ()
    ranking: tuple[RankingRow, ...] = ()
    poor_units: tuple[NamedUnit, ...] = ()
    good_practices: tuple[GoodPractice, ...] = ()
    problems: tuple[PublicProblem, ...] = ()


@registry.register
class BulletinDrafted(_Notify):
    """A draft (or a new version of the draft) computed from the statistics; not public."""

    event_type = "BulletinDrafted"
    label_zh = "起草通报"
    aggregate_type = "bulletin"
    schema_version = 2  # 2: ranking rows carry rate_text, on_time_text, rebounds (ducha.figures)
    content: BulletinContent


class AuditCheckpointRef(Frozen):
    """The audit checkpoint latest at publication (docs/audit.md), printed on the bulletin: whoever
    holds the bulletin can compare it with the log, so a rewrite of the log and its checkpoints is
    caught."""

    up_to_sequence: int = Field(ge=1)
    chain_hash: str = Field(pattern="^[0-9a-f]{64}$")
    recorded_at: str


@registry.register
class BulletinPublished(_Notify):
    """The published bulletin: immutable, rendered only from this payload."""

    event_type = "BulletinPublished"
    label_zh = "发布通报"
    aggregate_type = "bulletin"
    schema_version = 2  # as BulletinDrafted
    number: int = Field(ge=1, description="第N期")
    issued_on: date
    content: BulletinContent
    checkpoint: AuditCheckpointRef | None = Field(
        default=None, description="the audit checkpoint latest at publication (absent before there was one)")


@registry.register
class BulletinNumberIssued(_Notify):
    """Gapless numbering of published bulletins (one series per city)."""

    event_type = "BulletinNumberIssued"
    label_zh = "编发通报期号"
    aggregate_type = "bulletinseries"
    number: int = Field(ge=1)
    bulletin_id: Id


def _ranking_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 bulletin showed its integer percent; it keeps showing exactly that."""
    content = dict(payload.get("content") or {})
    content["ranking"] = [{**row, "rate_text": f"{row.get('rate_percent', 0)}%", "on_time_text": "", "rebounds": 0}
                          for row in content.get("ranking") or []]
    return {**payload, "content": content}


registry.upcaster("BulletinDrafted", 1)(_ranking_v1_to_v2)
registry.upcaster("BulletinPublished", 1)(_ranking_v1_to_v2)


__all__ = [
    "AuditCheckpointRef",
    "BulletinContent",
    "BulletinDrafted",
    "BulletinNumberIssued",
    "BulletinPublished",
    "BulletinSection",
    "Channel",
    "GoodPractice",
    "NamedUnit",
    "NotificationFailed",
    "NotificationRead",
    "NotificationRequested",
    "NotificationSent",
    "PublicProblem",
    "RankingRow",
    "Recipient",
    "SubscriptionCancelled",
    "SubscriptionRegistered",
    "TemplateUpdated",
    "WebhookDeadLettered",
    "WebhookDeliveryAttempted",
    "WebhookFormat",
    "WebhookReplayRequested",
]
