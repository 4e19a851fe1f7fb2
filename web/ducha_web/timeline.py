"""A problem's timeline: from the audit timeline when a service offers it, else assembled from
intake's facts and rectification's history (which holds rectification and verification events)."""

from __future__ import annotations

from typing import Any

from .backend import ProblemView
from .labels import EFFECT_ZH, OUTCOME_ZH


def _summary(event_type: str, d: dict[str, Any]) -> str:
    def g(key: str) -> Any:
        return d.get(key)

    if event_type == "DeadlineSet":
        text = f"整改时限 {g('deadline')}"
        if g("previous_deadline"):
            text += f"（原 {g('previous_deadline')}）"
        return text + (f"；{g('plan')}" if g("plan") else "") + (f"；理由：{g('reason')}" if g("reason") else "")
    if event_type == "ProgressReported":
        return f"进度 {g('percent')}%：{g('text')}"
    if event_type == "RectificationSubmitted":
        return f"第{g('submission_no')}次提交：{g('description')}"
    if event_type in ("RectificationRejected", "RectificationReopened"):
        return "理由：" + "；".join(g("reasons") or [])
    if event_type == "RectificationVerified":
        return f"成效：{EFFECT_ZH.get(g('effectiveness'), g('effectiveness'))}；{g('assessment')}"
    if event_type == "ReviewProposed":
        return f"建议{OUTCOME_ZH.get(g('outcome'), g('outcome'))}：{g('assessment') or '；'.join(g('reasons') or [])}"
    if event_type == "ProblemWrittenOff":
        return f"销号台账第 {g('ledger_no')} 号，回访期限 {g('revisit_due_on')}"
    if event_type == "RevisitRecorded":
        return f"{OUTCOME_ZH.get(g('outcome'), g('outcome'))}：{g('findings')}"
    if event_type == "DispatchRecorded":
        return f"{'暗访' if g('kind') == 'unannounced_visit' else '调度'}（{g('visited_on')}）：{g('findings')}"
    if event_type in ("ReminderIssued",):
        return str(g("text") or "")
    if event_type in ("HelpRequested",):
        return str(g("difficulty") or "")
    if event_type == "HelperAssigned":
        return f"帮扶单位：{g('helper_name')}"
    if event_type == "HelpReported":
        return str(g("text") or "")
    if event_type == "ExtensionRequested":
        return f"申请延期至 {g('requested_deadline')}：{g('reason')}"
    if event_type == "ExtensionGranted":
        return f"新的整改时限 {g('new_deadline')}"
    if event_type in ("ExtensionRefused", "ReviewProposalReturned"):
        return str(g("reason") or "")
    if event_type == "DeadlineMissed":
        return f"整改时限 {g('deadline')} 已过"
    if event_type == "DeadlineApproaching":
        return f"距整改时限 {g('deadline')} 还有 {g('days_left')} 天"
    return ""


def from_audit(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit timeline's entries (`ducha.audit.timeline.entry`) in the page's shape."""
    out = []
    for e in entries:
        data = dict(e.get("changes") or {})
        reasons = list(e.get("reasons") or [])
        for name in ("reason", "difficulty"):
            if reasons and name not in data:
                data[name] = reasons[0]
        data.setdefault("reasons", reasons)
        data["evidence"] = list(e.get("evidence") or [])
        actor = e.get("actor") or {}
        text = _summary(str(e.get("event_type", "")), data)
        if e.get("event_type") == "IssueReported":
            text = f"{data.get('title', '')}（{data.get('category', '')}）"
        elif e.get("event_type") == "IssueFedBack":
            text = f"主体责任人：{data.get('responsible_person', '')}；须于 {data.get('commit_deadline_by')} 前承诺整改时限"
        elif not text and reasons:
            text = "；".join(reasons)
        out.append({"at": e.get("occurred_at"), "type": e.get("event_type"), "who": actor.get("name") or actor.get("id", ""),
                    "role": actor.get("role", ""), "text": text, "evidence": data["evidence"],
                    "sequence": e.get("sequence")})
    return out


def assemble(view: ProblemView) -> list[dict[str, Any]]:
    if view.timeline:
        return view.timeline
    i = view.intake
    out: list[dict[str, Any]] = []
    if i.get("reported_at"):
        out.append({"at": i["reported_at"], "type": "IssueReported", "who": i.get("reported_by", ""),
                    "role": "team", "text": f"{i.get('title', '')}（{i.get('category', '')}）", "evidence": []})
    if i.get("amendments"):
        out.append({"at": i.get("reported_at"), "type": "IssueAmended", "who": "", "role": "team",
                    "text": f"共更正 {i['amendments']} 次", "evidence": []})
    if i.get("fed_back_at"):
        out.append({"at": i["fed_back_at"], "type": "IssueFedBack", "who": "", "role": "team",
                    "text": f"主体责任人：{i.get('responsible_person', '')} {i.get('responsible_person_title') or ''}；"
                            f"须于 {i.get('commit_deadline_by')} 前承诺整改时限", "evidence": []})
    if i.get("status") in ("withdrawn", "duplicate"):
        out.append({"at": None, "type": "IssueWithdrawn" if i["status"] == "withdrawn" else "IssueMarkedDuplicate",
                    "who": "", "role": "", "text": i.get("status_reason") or "", "evidence": []})
    for e in (view.rect or {}).get("timeline") or []:
        data = e.get("data") or {}
        out.append({"at": e.get("occurred_at"), "type": e.get("event_type"), "who": e.get("actor_name", ""),
                    "role": e.get("actor_role", ""), "text": _summary(e.get("event_type", ""), data),
                    "evidence": list(data.get("evidence") or [])})
    return out


def evidence_refs(view: ProblemView) -> set[str]:
    """Every file hash the problem refers to: only these may be downloaded through its page."""
    refs: set[str] = set()

    def add(items: Any) -> None:
        for item in items or []:
            ref = item.get("ref") if isinstance(item, dict) else None
            if isinstance(ref, str) and ref.startswith("sha256:"):
                refs.add(ref[7:])

    add(view.intake.get("evidence"))
    for e in (view.rect or {}).get("timeline") or []:
        add((e.get("data") or {}).get("evidence"))
    for sub in (view.ver or {}).get("submissions") or []:
        add(sub.get("evidence"))
    for e in view.timeline:
        add(e.get("evidence"))
    return refs
