"""Chinese labels for contexts, roles and fields (what users read in timelines); event types are
labelled by their contract classes (`label_zh`)."""

from __future__ import annotations

from ..contracts.common import LABELS_ZH
from ..contracts.registry import label_zh

CONTEXT_LABELS = {"intake": "问题受理", "rectification": "整改", "verification": "审核销号", "notify": "通知通报"}

ROLE_LABELS = {
    "office": "领导小组办公室",
    "team": "督查督导组",
    "unit": "被督查单位",
    "helper": "市直相关单位",
    "cadre": "干部监督管理部门",
    "public": "社会公众",
    "auditor": "审计核查",
    "system": "系统",
}

FIELD_LABELS = {
    "title": "标题", "description": "描述", "severity": "严重程度", "category": "类别", "location": "地点",
    "deadline": "整改时限", "plan": "整改措施", "percent": "进度%", "text": "内容", "findings": "发现情况",
    "assessment": "评估", "effectiveness": "整改成效", "submission_no": "第几次提交", "ledger_no": "台账号",
    "responsible_person": "责任人", "outcome": "结果", "change": "变更类型", "round_id": "轮次",
    "team_id": "督查组", "new_deadline": "新时限", "requested_deadline": "申请时限",
}


def event_label(event_type: str) -> str:
    """The event type's one Chinese label: `label_zh` of its contract class."""
    return label_zh(event_type)


def value_label(value: object) -> object:
    return LABELS_ZH.get(value, value) if isinstance(value, str) else value
