"""Statistics per round, team and unit, the unit ranking and the lights — read from the counters the
projection keeps (`domain/counters.py`), never by folding problems on request: a read adds up a few
hundred rows whatever the number of problems.

Every count, rate and the ranking order are defined once, in `ducha.figures` (see its docstring and
docs/workbench.md); the scope is the disclosure policy's (`access.Scope`), applied to the counter
rows, which are grouped finely enough (round, team, unit, fed back or not) for every scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from ducha import figures
from sqlalchemy import Connection, Engine, and_, case, func, select

from ..domain import counters, lights
from .scope import Scope
from .tables import rounds, stat_counts, stat_lights, teams, units

C = stat_counts.c
L = stat_lights.c
GROUPS = {"round": "round_id", "team": "team_id", "unit": "unit_id"}
_NAMES = {"unit_id": (units.c.unit_id, units.c.name), "team_id": (teams.c.team_id, teams.c.name),
          "round_id": (rounds.c.round_id, rounds.c.name)}


def finish(sums: dict[str, int]) -> dict[str, Any]:
    """The counts and rates of `ducha.figures.summarize` from the counters' sums."""
    out: dict[str, Any] = {k: int(sums.get(k) or 0) for k in counters.COUNTS}
    out["rectification_rate"] = figures.rate(out["written_off"], out["fed_back"])
    out["on_time_rate"] = figures.rate(out["submissions_on_time"], out["submissions"])
    out["rebound_rate"] = figures.rate(out["rebounded"], out["ever_written_off"])
    n = int(sums.get("days_n") or 0)
    out["avg_days_to_write_off"] = round(int(sums.get("days_us") or 0) / 86_400_000_000 / n, 2) if n else None
    return out


def _grouped(conn: Connection, scope: Scope, key: str, round_id: str | None) -> dict[str, dict[str, int]]:
    q = (select(C[key], *(func.sum(C[c]).label(c) for c in counters.COLUMNS))
         .where(*scope.where(stat_counts)).group_by(C[key]))
    if round_id:
        q = q.where(C.round_id == round_id)
    return {row[0] or "": dict(row._mapping) for row in conn.execute(q)}


def _groups(conn: Connection, scope: Scope, key: str, round_id: str | None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per group (ordered by id) and the sums over all of them."""
    sums = _grouped(conn, scope, key, round_id)
    col, name = _NAMES[key]
    names = dict(conn.execute(select(col, name)).all()) if sums else {}
    total = {c: sum(int(s[c] or 0) for s in sums.values()) for c in counters.COLUMNS}
    return [{key: g, "name": names.get(g) or "", **finish(sums[g])} for g in sorted(sums)], total


def statistics(engine: Engine, scope: Scope, by: str, round_id: str | None = None) -> dict[str, Any]:
    """Totals and one row per group (`by`: round, team or unit), ordered by group id."""
    with engine.connect() as conn:
        groups, total = _groups(conn, scope, GROUPS[by], round_id)
    return {"round_id": round_id, "by": by, "total": finish(total), "groups": groups}


def ranking(engine: Engine, scope: Scope, round_id: str | None = None) -> list[dict[str, Any]]:
    return figures.ranking(statistics(engine, scope, "unit", round_id)["groups"], "unit_id")


def light_counts(conn: Connection, scope: Scope, round_id: str | None, today: date) -> dict[str, int]:
    """Open problems by light today (see domain/lights.py: red after `due_on`, yellow from `yellow_from`)."""
    red = func.sum(case((L.due_on < today, L.n), else_=0))
    yellow = func.sum(case((and_(L.due_on >= today, L.yellow_from <= today), L.n), else_=0))
    q = select(red, yellow, func.sum(L.n)).where(*scope.where(stat_lights))
    if round_id:
        q = q.where(L.round_id == round_id)
    r, y, n = conn.execute(q).one()
    r, y, n = int(r or 0), int(y or 0), int(n or 0)
    return {lights.RED: r, lights.YELLOW: y, lights.GREEN: n - r - y}


def dashboard(engine: Engine, scope: Scope, round_id: str | None, today: date) -> dict[str, Any]:
    """Everything the workbench's dashboard shows of a round (or of every round): the totals, the
    units ranked, the teams ranked, and the lights today — in the reader's scope."""
    with engine.connect() as conn:
        unit_rows, total = _groups(conn, scope, "unit_id", round_id)
        team_rows, _ = _groups(conn, scope, "team_id", round_id)
        lit = light_counts(conn, scope, round_id, today)
    return {"round_id": round_id, "today": today, "total": finish(total),
            "ranking": figures.ranking(unit_rows, "unit_id"), "teams": figures.ranking(team_rows, "team_id"),
            "lights": lit}
