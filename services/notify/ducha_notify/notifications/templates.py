"""Message templates (Chinese), their placeholders, and rendering. Pure.

The office may replace any template (TemplateUpdated); placeholders are Python `{name}` fields
from `PLACEHOLDERS`; an unknown one is refused when the template is saved.
"""

from __future__ import annotations

import string
from typing import Any

from ducha.kernel.errors import InvalidCommand

DEFAULTS: dict[str, tuple[str, str]] = {
    "feedback_received": (
        "【督查交办】{unit_name}：{problem_title}",
        ("{recipient_name}：\n督查组已将问题“{problem_title}”交办贵单位，责任人：{responsible_person}。\n"
        "请于{commit_deadline_by}前承诺整改时限（最迟不超过{max_deadline}）。\n整改要求：{requirements}"),
    ),
    "deadline_to_set": (
        "【催办】{unit_name}未按时承诺整改时限：{problem_title}",
        "{recipient_name}：\n问题“{problem_title}”应于{commit_deadline_by}前承诺整改时限，至今未承诺，请立即办理。",
    ),
    "deadline_approaching": (
        "【黄灯提醒】{problem_title}整改时限临近",
        "{recipient_name}：\n问题“{problem_title}”的整改时限为{deadline}，还剩{days_left}天，请抓紧整改并按时提交。",
    ),
    "deadline_missed": (
        "【红灯逾期】{unit_name}：{problem_title}",
        "{recipient_name}：\n问题“{problem_title}”的整改时限{deadline}已过，尚未提交整改，请说明情况并立即整改。",
    ),
    "escalation": (
        "【逾期升级】{unit_name}：{problem_title}逾期已超过{overdue_hours}小时",
        ("{recipient_name}：\n{unit_name}的问题“{problem_title}”整改时限{deadline}已过，逾期超过{overdue_hours}小时"
        "仍未整改到位，提请领导小组办公室和干部监督管理部门关注。"),
    ),
    "review_verified": (
        "【审核验收通过】{problem_title}",
        "{recipient_name}：\n问题“{problem_title}”的整改已审核验收通过，成效：{effectiveness}。\n评估：{assessment}",
    ),
    "review_rejected": (
        "【审核未通过】{problem_title}",
        "{recipient_name}：\n问题“{problem_title}”的整改审核未通过，请重新整改。\n原因：{reasons}",
    ),
    "helper_assigned": (
        "【督帮一体】请{helper_name}帮扶{unit_name}",
        ("{recipient_name}：\n领导小组办公室指派{helper_name}帮助{unit_name}解决问题“{problem_title}”的整改困难，"
        "到位不越位。\n说明：{note}"),
    ),
    "revisit_due": (
        "【回访提醒】{problem_title}应于{revisit_due_on}回访",
        "{recipient_name}：\n{unit_name}的问题“{problem_title}”已销号，应于{revisit_due_on}回访复查，确认不反弹。",
    ),
    "digest": (
        "【每日督查提示】{scope_name} {day}",
        ("{recipient_name}：\n{scope_name}今日督查提示：\n临近时限 {due_count} 项：{due_list}\n"
        "已逾期 {overdue_count} 项：{overdue_list}\n审核未通过待重新整改 {rejected_count} 项：{rejected_list}"),
    ),
}

PLACEHOLDERS = frozenset({
    "recipient_name", "unit_name", "problem_title", "responsible_person", "commit_deadline_by", "max_deadline",
    "requirements", "deadline", "days_left", "overdue_hours", "effectiveness", "assessment", "reasons",
    "helper_name", "note", "revisit_due_on", "scope_name", "day", "due_count", "due_list", "overdue_count",
    "overdue_list", "rejected_count", "rejected_list",
})


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def fields_of(text: str) -> set[str]:
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError as exc:
        raise InvalidCommand(f"template is not valid: {exc}") from None


def validate(kind: str, subject: str, body: str) -> None:
    if kind not in DEFAULTS:
        raise InvalidCommand(f"unknown template kind {kind}; known: {', '.join(DEFAULTS)}", field="kind")
    unknown = (fields_of(subject) | fields_of(body)) - PLACEHOLDERS
    if unknown:
        raise InvalidCommand(f"unknown placeholders: {', '.join(sorted(unknown))}", field="body")


def render(subject: str, body: str, values: dict[str, Any]) -> tuple[str, str]:
    data = _Missing({k: ("" if v is None else v) for k, v in values.items()})
    return subject.format_map(data)[:200], body.format_map(data)[:4000]
