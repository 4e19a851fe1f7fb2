"""Statistics per round, team and unit, and the unit ranking — all from the projection.

Every count, rate and the ranking order are defined once, in `ducha.figures` (see its docstring and
docs/workbench.md): this module only reads each problem's facts from the projection's columns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ducha import figures
from sqlalchemy import Engine, select

from .access import Scope
from .config import as_utc
from .tables import problems, rounds, teams, units

P = problems.c
_COLUMNS = (P.problem_id, P.unit_id, P.team_id, P.round_id, P.stage, P.fed_back_at, P.deadline, P.overdue,
            P.ever_overdue, P.submissions, P.submissions_on_time, P.accepted_count, P.rejection_count,
            P.write_off_count, P.rebound_count, P.written_off_at)
GROUPS = {"round": "round_id", "team": "team_id", "unit": "unit_id"}


def facts(r: Any) -> figures.Facts:
    return figures.Facts(
        stage=r.stage, fed_back_at=as_utc(r.fed_back_at) if r.fed_back_at else None, deadline=r.deadline,
        overdue=bool(r.overdue), ever_overdue=bool(r.ever_overdue), submissions=r.submissions,
        submissions_on_time=r.submissions_on_time, accepted_count=r.accepted_count,
        rejection_count=r.rejection_count, write_off_count=r.write_off_count,
        written_off_at=as_utc(r.written_off_at) if r.written_off_at else None, rebound_count=r.rebound_count)


def summarize(rows: list[Any]) -> dict[str, Any]:
    return figures.summarize(facts(r) for r in rows)


def _names(engine: Engine) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        return {
            "unit_id": dict(conn.execute(select(units.c.unit_id, units.c.name)).all()),
            "team_id": dict(conn.execute(select(teams.c.team_id, teams.c.name)).all()),
            "round_id": dict(conn.execute(select(rounds.c.round_id, rounds.c.name)).all()),
        }


def statistics(engine: Engine, scope: Scope, by: str, round_id: str | None = None) -> dict[str, Any]:
    """Totals and one row per group (`by`: round, team or unit), ordered by group id."""
    key = GROUPS[by]
    q = select(*_COLUMNS).where(P.excluded.is_(False), P.round_id.is_not(None), *scope.where(problems))
    if round_id:
        q = q.where(P.round_id == round_id)
    with engine.connect() as conn:
        rows = list(conn.execute(q.order_by(P.problem_id)))
    names = _names(engine)[key]
    grouped: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[getattr(r, key) or ""].append(r)
    groups = [{key: g, "name": names.get(g, ""), **summarize(grouped[g])} for g in sorted(grouped)]
    return {"round_id": round_id, "by": by, "total": summarize(rows), "groups": groups}


def ranking(engine: Engine, scope: Scope, round_id: str | None = None) -> list[dict[str, Any]]:
    return figures.ranking(statistics(engine, scope, "unit", round_id)["groups"], "unit_id")
