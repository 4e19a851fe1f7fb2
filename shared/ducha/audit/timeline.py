"""The complete history of one problem across every context: who, when, what changed, why.

`problem_timeline(store, unit, problem)` returns JSON-ready entries; `disclosed_timeline` the same
as a given viewer may see them (the disclosure policy, `ducha.disclosure`: hidden events left out,
redacted fields taken out); `render_table` and `to_csv` format them for the CLI and for export."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

from ..contracts.base import DomainEvent, Envelope, Role
from ..disclosure import (
    SEE_ALL,
    Decision,
    ProblemFacts,
    Viewer,
    decide,
    fold,
    may_see_problem,
    redacted_actor,
)
from ..kernel.cells import safe_row
from ..kernel.eventstore import EventStore
from ..kernel.subjects import problem_filter
from .labels import CONTEXT_LABELS, FIELD_LABELS, ROLE_LABELS, event_label, value_label

WHY_FIELDS = ("reason", "reasons", "basis", "difficulty", "note")


def entry(event: Envelope[DomainEvent], decision: Decision | None = None,
          facts: ProblemFacts | None = None) -> dict[str, Any]:
    payload = event.payload.model_dump(mode="json")
    redact = decision.redact if decision else ()
    for path in redact:
        if path.startswith("payload."):
            payload.pop(path.removeprefix("payload."), None)
    evidence = payload.pop("evidence", None) or []
    reasons: list[str] = []
    for name in WHY_FIELDS:
        value = payload.pop(name, None)
        if isinstance(value, (list, tuple)):
            reasons.extend(str(v) for v in value)
        elif value:
            reasons.append(str(value))
    actor = event.actor
    if "actor" in redact:
        actor = type(actor).model_validate(redacted_actor(actor.model_dump(mode="json"), facts))
    return {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(),
        "event_type": event.event_type,
        "label": event_label(event.event_type),
        "context": event.context,
        "context_label": CONTEXT_LABELS.get(event.context, event.context),
        "aggregate_version": event.aggregate_version,
        "actor": {
            "id": actor.id,
            "name": actor.name,
            "role": actor.role.value,
            "role_label": ROLE_LABELS.get(actor.role.value, actor.role.value),
            "unit_id": actor.unit_id,
            "team_id": actor.team_id,
            "team_leader": actor.team_leader,
        },
        "changes": payload,
        "reasons": reasons,
        "evidence": evidence,
        "command_id": event.command_id,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
    }


async def problem_timeline(store: EventStore, unit_id: str, problem_id: str) -> list[dict[str, Any]]:
    """Every event of the problem, in log order (leader reads: includes the latest write)."""
    return [entry(e) async for e in store.read_subject(problem_filter(unit_id, problem_id))]


async def disclosed_timeline(store: EventStore, unit_id: str, problem_id: str,
                             viewer: Viewer) -> list[dict[str, Any]] | None:
    """What `viewer` may see of the problem's history; None if it may not see the problem (now)."""
    events = [e async for e in store.read_subject(problem_filter(unit_id, problem_id))]
    facts: ProblemFacts | None = None
    payloads = []
    for e in events:
        payload = e.payload.model_dump(mode="json")
        payloads.append(payload)
        facts = fold(facts, e.event_type, e.unit_id, e.aggregate_id, payload, e.sequence)
    if facts is None or not may_see_problem(viewer, facts):
        return None
    out = []
    for e, payload in zip(events, payloads, strict=True):
        decision = decide(viewer, e.event_type, facts, event_unit=e.unit_id, sequence=e.sequence, payload=payload)
        if not decision.visible:
            continue
        item = entry(e, decision, facts)
        if viewer.role not in SEE_ALL and viewer.role != Role.TEAM:
            item.update(command_id="", correlation_id="", causation_id=None)  # internal bookkeeping
        out.append(item)
    return out


def _changes_text(changes: dict[str, Any]) -> str:
    parts = []
    for key, value in changes.items():
        if value in (None, "", [], ()):
            continue
        shown = value_label(value)
        if isinstance(shown, (dict, list)):
            shown = json.dumps(shown, ensure_ascii=False)
        parts.append(f"{FIELD_LABELS.get(key, key)}={shown}")
    return "；".join(parts)


def _who(e: dict[str, Any]) -> str:
    a = e["actor"]
    scope = a["unit_id"] or a["team_id"] or ""
    return f"{a['name'] or a['id']}（{a['role_label']}{'·' + scope if scope else ''}）"


def _why(e: dict[str, Any]) -> str:
    parts = list(e["reasons"]) + [f"证据:{x.get('name', '')}[{x.get('ref', '')}]" for x in e["evidence"]]
    return "；".join(parts)


def rows(entries: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [str(e["sequence"]), e["occurred_at"][:19].replace("T", " "), e["label"], _who(e),
         _changes_text(e["changes"]), _why(e)]
        for e in entries
    ]


HEADERS = ["序号", "时间", "事项", "操作人", "内容", "原因/证据"]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out, w = "", 0
    for ch in text:
        w += _width(ch)
        if w > limit - 1:
            return out + "…"
        out += ch
    return out


def render_table(entries: list[dict[str, Any]], max_col: int = 48) -> str:
    table = [HEADERS] + [[_cut(c, max_col) for c in r] for r in rows(entries)]
    widths = [max(_width(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = []
    for n, r in enumerate(table):
        lines.append("  ".join(c + " " * (widths[i] - _width(c)) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_csv(entries: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS + ["事件类型", "操作人ID", "角色", "单位", "督查组", "命令ID"])
    for e, r in zip(entries, rows(entries), strict=True):
        a = e["actor"]
        writer.writerow(safe_row(r + [e["event_type"], a["id"], a["role"], a["unit_id"] or "",
                                      a["team_id"] or "", e["command_id"]]))
    return buf.getvalue()
