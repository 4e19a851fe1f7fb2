"""What the notifications decide, pure: the notification aggregate's id, which upstream events
become which reminder, and the values a template is filled with."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ducha.contracts import DomainEvent
from ducha.contracts.common import LABELS_ZH
from ducha.kernel.subjects import AggregateKey

TRIGGERS: dict[str, str] = {
    "IssueFedBack": "feedback_received",
    "DeadlineCommitmentMissed": "deadline_to_set",
    "DeadlineApproaching": "deadline_approaching",
    "DeadlineMissed": "deadline_missed",
    "RectificationVerified": "review_verified",
    "RectificationRejected": "review_rejected",
    "HelperAssigned": "helper_assigned",
}
LABELS = {"good": "好", "fair": "较好", "poor": "一般", **LABELS_ZH}


def notification_key(nid: str) -> AggregateKey:
    return AggregateKey("notify", "notification", nid)


def payload_values(payload: DomainEvent) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in payload.model_dump().items():
        if isinstance(value, (list, tuple)):
            value = "；".join(str(v) for v in value)
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()[:10]
        values[key] = LABELS.get(str(value), value) if isinstance(value, str) else value
    return values
