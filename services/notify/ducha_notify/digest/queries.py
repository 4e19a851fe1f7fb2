"""Daily digest per unit and per team: what is due soon, overdue, rejected (from the directory)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ducha.disclosure import Viewer
from sqlalchemy import Connection

from ..directory.queries import open_problems, team_name, unit_name
from ..directory.visibility import visible

DUE_DAYS = 3


def classify(rows: list[dict[str, Any]], today: date) -> dict[str, list[dict[str, Any]]]:
    due, overdue, rejected = [], [], []
    for row in rows:
        if row["missed_at"] is not None or (row["deadline"] is not None and row["deadline"] < today):
            overdue.append(row)
        elif row["deadline"] is not None and row["deadline"] <= today + timedelta(days=DUE_DAYS):
            due.append(row)
        if row["rejected_open"]:
            rejected.append(row)
    return {"due": due, "overdue": overdue, "rejected": rejected}


def digest_for(conn: Connection, today: date, view: Viewer, *, unit_id: str | None = None,
               team_id: str | None = None) -> dict[str, Any]:
    """The digest as `view` may see it (the disclosure policy decides which problems count)."""
    rows = [r for r in open_problems(conn)
            if (unit_id is None or r["unit_id"] == unit_id) and (team_id is None or r["team_id"] == team_id)]
    rows = visible(view, rows)
    parts = classify(rows, today)
    return {k: [{"problem_id": r["id"], "unit_id": r["unit_id"], "title": r["title"],
                 "deadline": str(r["deadline"]) if r["deadline"] else None} for r in v] for k, v in parts.items()}


def _list(items: list[dict[str, Any]]) -> str:
    return "；".join(f"{i['title']}（{i['deadline'] or '未定'}）" for i in items) or "无"


def digest_values(conn: Connection, today: date) -> list[tuple[str, str, dict[str, Any]]]:
    """(scope, scope id, template values) for every unit and team with something to report."""
    out = []
    rows = open_problems(conn)
    scopes = [("unit", u) for u in sorted({r["unit_id"] for r in rows})] + [("team", t) for t in sorted({r["team_id"] for r in rows})]
    for scope, sid in scopes:
        mine = [r for r in rows if r[f"{scope}_id"] == sid]
        parts = classify(mine, today)
        if not any(parts.values()):
            continue
        name = unit_name(conn, sid) if scope == "unit" else team_name(conn, sid)
        items = {k: [{"title": r["title"], "deadline": str(r["deadline"]) if r["deadline"] else None} for r in v]
                 for k, v in parts.items()}
        out.append((scope, sid, {
            "scope_id": sid, "scope_name": name, "day": today.isoformat(),
            "due_count": len(items["due"]), "due_list": _list(items["due"]),
            "overdue_count": len(items["overdue"]), "overdue_list": _list(items["overdue"]),
            "rejected_count": len(items["rejected"]), "rejected_list": _list(items["rejected"]),
        }))
    return out
