"""Chinese labels for statuses, lights, roles and form fields, and the mapping of the services'
422 `field` to a message under the right form input. Event types carry their own label
(`ducha.contracts.label_zh`, the contract class's `label_zh`); severities are the contracts'."""

from __future__ import annotations

from typing import Any

from ducha.contracts import label_zh
from ducha.contracts.common import LABELS_ZH, Severity

from .city import ROLE_ZH

STATUS_ZH = {
    "reported": "已上报", "fed_back": "已交办", "awaiting_commitment": "待承诺时限", "rectifying": "整改中",
    "submitted": "待审核", "accepted": "已验收", "written_off": "已销号", "held": "回访不反弹",
    "withdrawn": "已撤回", "duplicate": "重复", "rejected": "验收未通过",
}
STATUS_ORDER = ["awaiting_commitment", "rectifying", "submitted", "accepted", "written_off"]
LIGHT_ZH = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
# severity words are the contracts' (ducha.contracts.common.LABELS_ZH), in the enum's order
SEVERITY_ZH = {s.value: LABELS_ZH[s.value] for s in Severity}
EFFECT_ZH = {"good": "好", "fair": "较好", "poor": "一般"}
OUTCOME_ZH = {"accept": "通过", "reject": "不通过", "held": "不反弹", "rebounded": "反弹"}
CONTENT_STATUS_ZH = {"pending": "待审批", "approved": "已审批", "returned": "已退回"}


FIELD_ZH = {
    "title": "问题标题", "description": "问题描述", "category": "问题类别", "severity": "严重程度",
    "location": "地点", "found_on": "发现日期", "found_by": "发现方式", "evidence": "佐证材料",
    "publishable": "可公开", "suggested_deadline_days": "建议整改天数", "content_id": "督查内容",
    "unit_id": "被督查单位", "reason": "理由", "responsible_person": "主体责任人",
    "responsible_person_title": "责任人职务", "requirements": "整改要求", "deadline": "整改时限",
    "plan": "整改方案", "percent": "整改进度", "text": "内容", "difficulty": "困难和问题",
    "outcome": "审核结论", "effectiveness": "整改成效", "assessment": "评估意见", "reasons": "不通过理由",
    "findings": "回访情况", "visited_on": "回访日期", "requested_deadline": "申请延期至",
    "submission_no": "提交次数", "kind": "类型", "helper_id": "帮扶单位", "note": "备注",
    "new_deadline": "新的整改时限", "file": "文件", "If-Match": "版本",
}

# the messages the services' validator emits, in Chinese
_PYDANTIC_ZH = [
    ("field required", "此项必填"),
    ("missing", "此项必填"),
    ("at least 1 character", "此项不能为空"),
    ("should have at least 1 item", "至少需要一项"),
    ("at most", "内容过长"),
    ("valid date", "请输入有效日期（年-月-日）"),
    ("valid integer", "请输入整数"),
    ("greater than or equal", "数值过小"),
    ("less than or equal", "数值过大"),
    ("input should be", "请选择有效的选项"),
    ("string should match pattern", "格式不正确"),
]


# the services' English messages that carry no Chinese part, in Chinese (regex → template)
_DOMAIN_ZH = [
    (r"is beyond the latest allowed deadline (\S+)", r"超过允许的最迟整改时限 \1"),
    (r"is in the past", "不能早于今天"),
    (r"committing a deadline needs the rectification plan", "首次承诺整改时限须填写整改方案"),
    (r"changing a committed deadline needs a reason", "调整已承诺的整改时限须说明理由"),
    (r"the deadline already is (\S+)", r"整改时限已是 \1"),
    (r"commit a rectification deadline before submitting", "请先承诺整改时限再提交整改材料"),
    (r"a rejection needs at least one reason", "不通过须写明至少一条理由"),
    (r"acceptance needs an effectiveness", "通过验收须评价整改成效"),
    (r"a granted extension must be later than the current deadline", "同意延期的日期须晚于现有整改时限"),
    (r"the requested deadline must be later than the current one \((\S+)\)", r"申请的日期须晚于现有整改时限 \1"),
    (r"the required deadline must be earlier than the current one \((\S+)\)", r"要求的时限须早于现有整改时限 \1"),
    (r"say why the deadline must be shorter", "请说明缩短时限的理由"),
    (r"say why the proposal is returned", "请说明退回理由"),
    (r"visited_on is in the future|the visit cannot be in the future", "回访日期不能晚于今天"),
    (r"the visit cannot precede the write-off on (\S+)", r"回访日期不能早于销号日期 \1"),
    (r"record (the on-site findings|what was found on site)", "请填写现场情况"),
    (r"the responsible unit cannot be its own helper", "责任单位不能作为自己的帮扶单位"),
    (r"needs evidence", "须上传整改佐证材料"),
    (r"acceptance needs an assessment", "通过验收须填写评估意见"),
    (r"^(\w+) is required$", "此项必填"),
]


def zh_message(message: str) -> str:
    """A service's message in Chinese: a known domain message translated, else its own Chinese part
    (the services add one in parentheses), else a translation of common validator messages, else the
    message itself."""
    import re

    for pattern, template in _DOMAIN_ZH:
        m = re.search(pattern, message)
        if m:
            return m.expand(template)
    for mark in ("（", "("):
        if mark in message:
            inner = message[message.rfind(mark) + 1:].rstrip("）)")
            if inner and any("\u4e00" <= ch <= "\u9fff" for ch in inner):
                return inner
    if any("\u4e00" <= ch <= "\u9fff" for ch in message):
        return message
    low = message.lower()
    for needle, zh in _PYDANTIC_ZH:
        if needle in low:
            return zh
    return message


def field_errors(fields: dict[str, str]) -> dict[str, str]:
    """`{"deadline": "value is not a valid date"}` → `{"deadline": "整改时限：请输入有效日期（年-月-日）"}`,
    keyed by the top-level field name (so `evidence.0.ref` lands under `evidence`)."""
    out: dict[str, str] = {}
    for name, message in fields.items():
        top = str(name).split(".")[0]
        label = FIELD_ZH.get(top, top)
        out.setdefault(top, f"{label}：{zh_message(message)}")
    return out


STATUS_CODE_ZH = {
    401: "登录已失效，请重新登录", 403: "您无权进行此操作", 404: "未找到，或您无权查看",
    409: "状态已变化，操作未执行", 422: "填写有误", 503: "服务暂时不可用，请稍后重试",
}


def error_text(status: int, message: str) -> str:
    base = STATUS_CODE_ZH.get(status, "操作失败")
    if status in (401, 404) or not message:
        return base
    if status == 503 and any("\u4e00" <= ch <= "\u9fff" for ch in message):
        return message
    return f"{base}：{zh_message(message)}"


def _pct(v: Any) -> str:
    """A rate as ducha.figures shows it everywhere (one decimal)."""
    from ducha.figures import percent

    try:
        return percent(None if v is None else float(v))
    except (TypeError, ValueError):  # jinja2 Undefined, text
        return "—"


def _minute(v: Any) -> str:
    """A time from the services (UTC) as the city's local time, to the minute."""
    from ducha.kernel.calendar import city_minute

    try:
        return city_minute(v) if v else ""
    except (TypeError, ValueError):
        return str(v).replace("T", " ")[:16]


def _clock(v: Any) -> str:
    from datetime import UTC, datetime

    from ducha.kernel.calendar import city_time

    try:
        return city_time(datetime.fromtimestamp(float(v), UTC)).strftime("%H:%M:%S")
    except (TypeError, ValueError):
        return ""


def filters() -> dict[str, Any]:
    return {
        "status_zh": lambda v: STATUS_ZH.get(str(v), str(v) if v else ""),
        "light_zh": lambda v: LIGHT_ZH.get(str(v), "—") if v else "—",
        "severity_zh": lambda v: SEVERITY_ZH.get(str(v), str(v) if v else ""),
        "role_zh": lambda v: ROLE_ZH.get(str(v), str(v)),
        "event_zh": lambda v: label_zh(str(v)),  # the contract class's label_zh
        "label_zh": lambda v: LABELS_ZH.get(str(v), str(v) if v else ""),
        "effect_zh": lambda v: EFFECT_ZH.get(str(v), str(v) if v else ""),
        "outcome_zh": lambda v: OUTCOME_ZH.get(str(v), str(v) if v else ""),
        "content_status_zh": lambda v: CONTENT_STATUS_ZH.get(str(v), str(v) if v else ""),
        "pct": _pct,
        "filter_zh": lambda v: {"sort": "排序", "category": "类别", "pending": "待办"}.get(str(v), str(v)),
        "day": lambda v: "" if not v else str(v)[:10],
        "minute": _minute,
        "clock": _clock,
    }
