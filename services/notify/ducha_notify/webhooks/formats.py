"""Webhook bodies (plain JSON, WeCom and DingTalk robot markdown) and their signature. Pure."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ducha.contracts import label_zh
from ducha.contracts.common import LABELS_ZH
from ducha.contracts.notify import WebhookFormat
from ducha.kernel.calendar import city_minute

SIGNATURE_HEADER = "X-Ducha-Signature"
DELIVERY_HEADER = "X-Ducha-Delivery"
# A receiver refuses a signature whose timestamp is further than this from its own clock.
SIGNATURE_TOLERANCE_SECONDS = 300

_FIELD_LABELS: dict[str, str] = {
    "title": "问题", "name": "名称", "deadline": "整改时限", "days_left": "剩余天数", "reasons": "原因",
    "assessment": "评估", "effectiveness": "成效", "helper_name": "帮扶单位", "text": "内容",
    "percent": "进度", "responsible_person": "责任人", "commit_deadline_by": "承诺时限截止",
    "max_deadline": "最迟时限", "requirements": "整改要求", "revisit_due_on": "回访日期",
    "outcome": "结果", "findings": "情况", "severity": "严重程度", "category": "领域", "plan": "整改措施",
    "reason": "理由", "new_deadline": "新时限", "requested_deadline": "申请时限", "difficulty": "困难",
}


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "；".join(_value(v) for v in value)
    text = str(getattr(value, "value", value))
    return LABELS_ZH.get(text, text)


def describe(event: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A Chinese title and `label：value` lines of a disclosed event's main fields."""
    title = f"【{label_zh(str(event['event_type']))}】"
    data = event.get("payload") or {}
    lines = [f"{zh}：{_value(data[key])}" for key, zh in _FIELD_LABELS.items() if data.get(key) not in (None, "", (), [])]
    return title, lines


def markdown(event: Mapping[str, Any], sequence: int, limit: int = 3800) -> tuple[str, str]:
    title, lines = describe(event)
    ref = f"{event.get('aggregate_type')} {event.get('aggregate_id')}"
    at = datetime.fromisoformat(str(event["occurred_at"]))
    body = [f"### {title}", f"> 单位：{event.get('unit_id') or '—'}　对象：{ref}", *(f"- {line}" for line in lines),
            f"<font color=\"comment\">{city_minute(at)} · 序号 {sequence}</font>"]
    text = "\n".join(body)
    return title, text[:limit]


def render(fmt: WebhookFormat, sequence: int, data: bytes, delivery_id: str, subscription_id: str) -> bytes:
    """The request body for one delivery. `data` is the disclosed event as in DUCHA_DEPT (the
    department's view: redacted by the disclosure policy), `sequence` its DUCHA_DEPT sequence."""
    event = json.loads(data)
    if fmt == WebhookFormat.JSON:
        body: dict[str, Any] = {
            "delivery_id": delivery_id, "subscription_id": subscription_id, "sequence": sequence,
            "event_type": event["event_type"], "event": event,
        }
    elif fmt == WebhookFormat.WECOM:
        body = {"msgtype": "markdown", "markdown": {"content": markdown(event, sequence)[1]}}
    else:
        title, text = markdown(event, sequence)
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": text.replace('<font color="comment">', "").replace("</font>", "")}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def robot_text(fmt: WebhookFormat, subject: str, text: str) -> bytes:
    """A reminder as a robot message (WeCom / DingTalk markdown; JSON otherwise)."""
    if fmt == WebhookFormat.WECOM:
        body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": f"### {subject}\n{text}"}}
    elif fmt == WebhookFormat.DINGTALK:
        body = {"msgtype": "markdown", "markdown": {"title": subject, "text": f"### {subject}\n{text}"}}
    else:
        body = {"type": "notification", "subject": subject, "text": text}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the timestamp is signed too, so a
    captured delivery cannot be replayed once the receiver's tolerance has passed."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: float,
           tolerance: float = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does (the README has it in Python and Java): parse, check the timestamp
    against its own clock, recompute over the raw body, compare in constant time."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")
