"""The actions a person may take on a problem, as forms: who may take each one and when (the
services decide anyway; the page only hides what would be refused), the form's fields, and how a
submitted form becomes the service's request body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ducha.contracts.base import Actor, Role

from .backend import ProblemView

OPEN = ("awaiting_commitment", "rectifying")


@dataclass(frozen=True)
class F:
    name: str
    label: str
    kind: str = "text"  # text, textarea, date, int, select, bool, files, lines, hidden
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""
    default: Any = None
    max: str = ""  # a date field's latest choice: "today" or "max_deadline" (the problem's)
    shown_when: str = ""  # "field=value": shown only while another field of the form has that value (JS)


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    service: str
    path: str  # {id} = the problem; {target} = a sub-item (reminder, help, extension)
    fields: tuple[F, ...]
    when: Callable[[Actor, ProblemView], bool]
    done: str = "已提交"
    primary: bool = False
    targets: Callable[[Actor, ProblemView], list[tuple[str, str]]] | None = None  # (id, label)
    build: Callable[[dict[str, Any], ProblemView], dict[str, Any]] | None = None

    @property
    def has_files(self) -> bool:
        return any(f.kind == "files" for f in self.fields)


# ------------------------------------------------------------------------------ who and when
def own_team(a: Actor, v: ProblemView) -> bool:
    return a.role == Role.TEAM and a.team_id == v.intake.get("team_id")


def team_or_office(a: Actor, v: ProblemView) -> bool:
    return own_team(a, v) or a.role == Role.OFFICE


def own_unit(a: Actor, v: ProblemView) -> bool:
    return a.role == Role.UNIT and a.unit_id == v.intake.get("unit_id")


def rect(v: ProblemView, key: str, default: Any = None) -> Any:
    return (v.rect or {}).get(key, default)


def ver(v: ProblemView, key: str, default: Any = None) -> Any:
    return (v.ver or {}).get(key, default)


def intake_status(v: ProblemView) -> str:
    return str(v.intake.get("status") or "")


def stage(v: ProblemView) -> str:
    return str(ver(v, "stage") or "")


def severe(v: ProblemView) -> bool:
    return v.intake.get("severity") == "severe"


def pending_proposal(v: ProblemView) -> bool:
    return ver(v, "proposal_submission_no") is not None


def open_reminders(a: Actor, v: ProblemView) -> list[tuple[str, str]]:
    return [(r["reminder_id"], r.get("text", "")) for r in rect(v, "reminders", []) or []
            if not r.get("acknowledged_at")]


def unassigned_helps(a: Actor, v: ProblemView) -> list[tuple[str, str]]:
    return [(h["help_id"], h.get("difficulty", "")) for h in rect(v, "helps", []) or [] if not h.get("helper_id")]


def my_helps(a: Actor, v: ProblemView) -> list[tuple[str, str]]:
    return [(h["help_id"], h.get("difficulty", "")) for h in rect(v, "helps", []) or []
            if a.role == Role.HELPER and h.get("helper_id") == a.unit_id]


def pending_extensions(a: Actor, v: ProblemView) -> list[tuple[str, str]]:
    return [(e["request_id"], f"申请延期至 {e.get('requested_deadline')}：{e.get('reason', '')}")
            for e in rect(v, "extensions", []) or [] if e.get("status") == "pending"]


# --------------------------------------------------------------------------------- bodies
def _review(form: dict[str, Any], v: ProblemView) -> dict[str, Any]:
    body: dict[str, Any] = {"submission_no": int(ver(v, "latest_submission_no") or rect(v, "submission_no") or 1),
                            "outcome": form.get("outcome")}
    if form.get("outcome") == "accept":
        body["effectiveness"] = form.get("effectiveness") or None
        body["assessment"] = form.get("assessment", "")
    else:
        body["reasons"] = form.get("reasons", [])
    return body


def _proposal(form: dict[str, Any], v: ProblemView) -> dict[str, Any]:
    body: dict[str, Any] = {"submission_no": int(ver(v, "proposal_submission_no") or 1)}
    if "reason" in form:
        body["reason"] = form["reason"]
    return body


def _assign(form: dict[str, Any], v: ProblemView) -> dict[str, Any]:
    helper_id, _, name = str(form.get("helper", "")).partition("|")
    return {"helper_id": helper_id, "helper_name": name or helper_id, "note": form.get("note", "")}


def _amend(form: dict[str, Any], v: ProblemView) -> dict[str, Any]:
    """Only what changed (an amendment that changes nothing is refused by intake)."""
    body: dict[str, Any] = {"reason": form.get("reason", "")}
    for key in ("title", "description", "category", "severity", "location"):
        value = form.get(key)
        if value not in (None, "") and value != v.intake.get(key):
            body[key] = value
    if form.get("evidence"):
        body["evidence"] = list(v.intake.get("evidence") or []) + form["evidence"]
    return body


SEVERITY = (("general", "一般"), ("serious", "较重"), ("severe", "严重"))
EFFECT = (("good", "好"), ("fair", "较好"), ("poor", "一般"))

ACTIONS: list[Action] = [
    # ---- intake: the team
    Action("feed_back", "交办给被督查单位", "intake", "/v1/problems/{id}/feed-back", (
        F("responsible_person", "主体责任人", required=True, help="被督查单位负责整改的人"),
        F("responsible_person_title", "责任人职务"),
        F("requirements", "整改要求", "textarea"),
    ), lambda a, v: own_team(a, v) and intake_status(v) == "reported", "已交办，单位须按期承诺整改时限", True),
    Action("amend", "更正问题", "intake", "/v1/problems/{id}/amend", (
        F("reason", "更正理由", "textarea", True),
        F("title", "问题标题"), F("description", "问题描述", "textarea"),
        F("severity", "严重程度", "select", options=(("", "不变"),) + SEVERITY),
        F("location", "地点"), F("evidence", "补充佐证材料", "files"),
    ), lambda a, v: own_team(a, v) and intake_status(v) in ("reported", "fed_back")
       and stage(v) not in ("written_off", "held"), "问题已更正", build=_amend),
    Action("withdraw", "撤回问题", "intake", "/v1/problems/{id}/withdraw", (
        F("reason", "撤回理由", "textarea", True),
    ), lambda a, v: team_or_office(a, v) and intake_status(v) == "reported", "问题已撤回"),
    # ---- rectification: the unit
    Action("deadline", "承诺整改时限", "rectification", "/v1/problems/{id}/deadline", (
        F("deadline", "整改时限", "date", True, max="max_deadline"),
        F("plan", "整改方案/措施", "textarea", help="首次承诺时必填"),
        F("reason", "调整理由", "textarea", help="调整已承诺的时限时必填", shown_when="has_deadline"),
    ), lambda a, v: own_unit(a, v) and rect(v, "status") in OPEN, "整改时限已设定", True),
    Action("progress", "报告整改进展", "rectification", "/v1/problems/{id}/progress", (
        F("percent", "整改进度（%）", "int", True), F("text", "进展情况", "textarea", True),
        F("evidence", "佐证材料（照片、文件）", "files"),
    ), lambda a, v: own_unit(a, v) and rect(v, "status") == "rectifying", "整改进展已报告"),
    Action("help", "申请帮扶", "rectification", "/v1/problems/{id}/help", (
        F("difficulty", "困难和问题", "textarea", True),
    ), lambda a, v: own_unit(a, v) and rect(v, "status") in OPEN, "帮扶申请已提交，等待领导小组办公室指派"),
    Action("extension", "申请延期", "rectification", "/v1/problems/{id}/extensions", (
        F("requested_deadline", "申请延期至", "date", True), F("reason", "延期理由", "textarea", True),
    ), lambda a, v: own_unit(a, v) and rect(v, "status") == "rectifying" and bool(rect(v, "deadline"))
       and not rect(v, "pending_extension_id"), "延期申请已提交"),
    Action("acknowledge", "确认提醒", "rectification", "/v1/problems/{id}/reminders/{target}/acknowledge", (
        F("note", "回复", "textarea"),
    ), lambda a, v: own_unit(a, v) and bool(open_reminders(a, v)), "已确认", targets=open_reminders),
    Action("submit", "提交整改材料（申请验收）", "rectification", "/v1/problems/{id}/submission", (
        F("description", "整改完成情况", "textarea", True),
        F("evidence", "佐证材料（至少一份）", "files", True),
    ), lambda a, v: own_unit(a, v) and rect(v, "status") == "rectifying", "整改材料已提交，等待审核验收", True),
    # ---- rectification: team and office
    Action("dispatch", "记录调度/暗访", "rectification", "/v1/problems/{id}/dispatches", (
        F("kind", "类型", "select", True, (("dispatch", "调度"), ("unannounced_visit", "暗访"))),
        F("findings", "发现情况", "textarea", True), F("visited_on", "日期", "date", True, max="today"),
        F("evidence", "佐证材料", "files"),
    ), lambda a, v: team_or_office(a, v) and rect(v, "status") in (*OPEN, "submitted"), "调度情况已记录"),
    Action("reminder", "提醒/催办", "rectification", "/v1/problems/{id}/reminders", (
        F("kind", "类型", "select", True, (("reminder", "提醒/催办"), ("correction", "纠正"))),
        F("text", "内容", "textarea", True),
    ), lambda a, v: team_or_office(a, v) and rect(v, "status") in OPEN, "提醒已发出"),
    Action("grant", "同意延期", "rectification", "/v1/problems/{id}/extensions/{target}/grant", (
        F("new_deadline", "新的整改时限", "date", help="不填则按申请的日期"), F("note", "意见", "textarea"),
    ), lambda a, v: team_or_office(a, v) and bool(pending_extensions(a, v)), "已同意延期",
        targets=pending_extensions),
    Action("refuse", "不同意延期", "rectification", "/v1/problems/{id}/extensions/{target}/refuse", (
        F("reason", "理由", "textarea", True),
    ), lambda a, v: team_or_office(a, v) and bool(pending_extensions(a, v)), "已不同意延期",
        targets=pending_extensions),
    Action("assign", "指派帮扶单位", "rectification", "/v1/problems/{id}/help/{target}/assign", (
        F("helper", "帮扶单位", "select", True, help="请选择负责帮扶的市直相关单位"), F("note", "说明", "textarea"),
    ), lambda a, v: a.role == Role.OFFICE and bool(unassigned_helps(a, v)), "已指派帮扶单位",
        targets=unassigned_helps, build=_assign),
    Action("help_report", "报告帮扶情况", "rectification", "/v1/problems/{id}/help/{target}/report", (
        F("text", "帮扶情况", "textarea", True),
    ), lambda a, v: bool(my_helps(a, v)), "帮扶情况已报告", targets=my_helps),
    # ---- verification: the team
    Action("review", "审核验收", "verification", "/v1/problems/{id}/review", (
        F("outcome", "审核结论", "select", True, (("", "请选择"), ("accept", "通过"), ("reject", "不通过"))),
        F("effectiveness", "整改成效（通过时必填）", "select", options=(("", "请选择"),) + EFFECT,
          shown_when="outcome=accept"),
        F("assessment", "评估意见（通过时必填）", "textarea", shown_when="outcome=accept"),
        F("reasons", "不通过理由（每行一条）", "lines", shown_when="outcome=reject"),
    ), lambda a, v: own_team(a, v) and stage(v) == "submitted" and not pending_proposal(v)
       and not (severe(v) and a.team_leader), "审核意见已提交", True, build=_review),
    Action("confirm", "确认审核意见（组长）", "verification", "/v1/problems/{id}/review/confirm", (),
           lambda a, v: own_team(a, v) and a.team_leader and pending_proposal(v)
           and ver(v, "proposed_by") != a.id, "已确认审核意见", True, build=_proposal),
    Action("return_proposal", "退回审核意见（组长）", "verification", "/v1/problems/{id}/review/return", (
        F("reason", "退回理由", "textarea", True),
    ), lambda a, v: own_team(a, v) and a.team_leader and pending_proposal(v) and ver(v, "proposed_by") != a.id,
        "已退回审核意见", build=_proposal),
    Action("write_off", "入账销号", "verification", "/v1/problems/{id}/write-off", (),
           lambda a, v: own_team(a, v) and stage(v) == "accepted", "已入账销号", True),
    Action("revisit", "记录回访", "verification", "/v1/problems/{id}/revisit", (
        F("outcome", "回访结论", "select", True, (("held", "不反弹"), ("rebounded", "反弹"))),
        F("findings", "回访情况", "textarea", True), F("visited_on", "回访日期", "date", max="today"),
        F("evidence", "佐证材料", "files"),
    ), lambda a, v: own_team(a, v) and stage(v) == "written_off", "回访已记录", True),
    # ---- cadre supervision
    Action("decision", "问责/容错纠错", "verification", "/v1/decisions", (
        F("kind", "类型", "select", True, (("accountability", "问责"), ("tolerance", "容错纠错"))),
        F("person_name", "涉及人员"), F("basis", "依据", "textarea", True),
        F("decision", "处理决定", "textarea", True),
    ), lambda a, v: a.role == Role.CADRE and intake_status(v) == "fed_back", "决定已记录",
        build=lambda form, v: {"problem_id": v.id, **{k: form.get(k, "") for k in
                                                      ("kind", "person_name", "basis", "decision")}}),
]
BY_KEY = {a.key: a for a in ACTIONS}


def available(actor: Actor, view: ProblemView) -> list[Action]:
    out = []
    for a in ACTIONS:
        try:
            if a.when(actor, view):
                out.append(a)
        except (KeyError, TypeError):
            continue
    return out


def to_body(action: Action, form: dict[str, Any], view: ProblemView) -> dict[str, Any]:
    """Form values (already parsed per field kind) → the service's body. Empty optional fields are
    left out so the service's defaults apply."""
    if action.build is not None:
        return action.build(form, view)
    body: dict[str, Any] = {}
    for f in action.fields:
        value = form.get(f.name)
        if value in (None, "", []) and not f.required:
            continue
        body[f.name] = value
    return body


def parse_value(f: F, raw: Any) -> Any:
    if f.kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            return str(raw).strip()  # the service names the field in its 422
    if f.kind == "lines":
        return [line.strip() for line in str(raw or "").splitlines() if line.strip()]
    if f.kind == "bool":
        return str(raw).lower() in ("1", "true", "on", "yes")
    if f.kind == "date":
        return str(raw).strip()
    return str(raw).strip() if raw is not None else ""


__all__ = ["ACTIONS", "BY_KEY", "Action", "F", "available", "field", "parse_value", "to_body"]
