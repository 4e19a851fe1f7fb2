"""The disclosure policy (`ducha.disclosure`) over notify's own projection: which problems a
reader may see in digests, the inbox and bulletins. No rule of its own: it only translates
notify's problem rows into the policy's `ProblemFacts`."""

from __future__ import annotations

from typing import Any

from ducha.contracts import Actor, Role
from ducha.disclosure import ProblemFacts, Stage, Viewer, may_see_problem
from sqlalchemy import Connection, select

from .queries import problem
from .tables import team_units as team_units_table

_STAGES = {"reported": Stage.REPORTED, "fed_back": Stage.FED_BACK, "withdrawn": Stage.WITHDRAWN,
           "written_off": Stage.WRITTEN_OFF}


def row_facts(row: dict[str, Any], published: bool = False) -> ProblemFacts:
    status = str(row["status"])
    return ProblemFacts(str(row["id"]), str(row["unit_id"]), row.get("team_id"), stage=_STAGES.get(status, Stage.RECTIFYING),
                        fed_back=status not in ("reported", "withdrawn"), publishable=bool(row.get("publishable")),
                        published=published)


def team_units(conn: Connection, team_id: str | None) -> set[str]:
    if not team_id:
        return set()
    return {str(u) for u in conn.execute(select(team_units_table.c.unit_id).where(team_units_table.c.team_id == team_id)).scalars()}


def viewer(conn: Connection, actor: Actor) -> Viewer:
    return Viewer.of(actor, team_units(conn, actor.team_id) if actor.role == Role.TEAM else ())


def visible(view: Viewer, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if may_see_problem(view, row_facts(r))]


def problem_visible(conn: Connection, view: Viewer, problem_id: str | None) -> bool:
    """For things about one problem (a notification): no problem = nothing to hide."""
    if not problem_id:
        return True
    row = problem(conn, problem_id)
    if row is None:
        return view.role in (Role.OFFICE, Role.CADRE, Role.SYSTEM)
    return may_see_problem(view, row_facts(row))
