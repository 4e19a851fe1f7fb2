"""Reading the directory: a problem's row, names, the open problems (reminders, digests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from .tables import problems, teams, units

OPEN = ("fed_back", "rectifying")


def problem(conn: Connection, pid: str) -> dict[str, Any] | None:
    row = conn.execute(select(problems).where(problems.c.id == pid)).mappings().first()
    return dict(row) if row else None


def unit_name(conn: Connection, unit_id: str | None) -> str:
    if not unit_id:
        return ""
    name = conn.execute(select(units.c.name).where(units.c.id == unit_id)).scalar_one_or_none()
    return str(name or unit_id)


def team_name(conn: Connection, team_id: str) -> str:
    name = conn.execute(select(teams.c.name).where(teams.c.id == team_id)).scalar_one_or_none()
    return str(name or team_id)


def open_problems(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(problems).where(problems.c.status.in_(OPEN))
                                          .order_by(problems.c.id)).mappings()]
