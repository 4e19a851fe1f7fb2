"""Statistics per round, team and unit, and the unit ranking — all from the projection.

Over the problems in scope that were not withdrawn or marked duplicate:
  reported        problems reported
  fed_back        problems fed back to their unit
  rectifying      now the unit's turn: fed back (deadline to commit) or rectifying, incl. after a
                  rejection or a rebound
  overdue         rectifying past the deadline in force (rectification's DeadlineMissed)
  ever_overdue    problems that were overdue at least once
  submitted       problems with at least one submission; submissions: all submissions
  awaiting_review submitted and not yet reviewed (a severe problem's proposal included)
  accepted        problems accepted at least once
  rejected        problems rejected at least once; rejections: all rejections
  written_off     problems whose write-off stands (written off, or revisited and held)
  held            written-off problems whose revisit found no rebound
  rebounded       problems that rebounded at least once; rebounds: all rebounds
  rectification_rate        written_off / fed_back
  on_time_rate              submissions made on or before the deadline in force when submitted
                            (local date; a submission with no deadline in force counts as on
                            time) / submissions
  avg_days_to_write_off     mean days from feedback to the write-off that stands
Rates are null when their denominator is 0. Ranking (units): rectification rate, then on-time
rate (higher first; null last), then fewer rebounds; equal keys share a rank.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from .access import Scope
from .config import as_utc
from .tables import problems, rounds, teams, units

P = problems.c
_COLUMNS = (P.problem_id, P.unit_id, P.team_id, P.round_id, P.stage, P.fed_back_at, P.overdue, P.ever_overdue,
            P.submissions, P.submissions_on_time, P.accepted_count, P.rejection_count, P.rebound_count,
            P.written_off_at)
GROUPS = {"round": "round_id", "team": "team_id", "unit": "unit_id"}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(rows: list[Any]) -> dict[str, Any]:
    c: dict[str, Any] = defaultdict(int)
    days: list[float] = []
    for r in rows:
        c["reported"] += 1
        c["fed_back"] += r.fed_back_at is not None
        c["rectifying"] += r.stage in ("fed_back", "rectifying")
        c["overdue"] += bool(r.overdue) and r.stage in ("fed_back", "rectifying")
        c["ever_overdue"] += bool(r.ever_overdue)
        c["submitted"] += r.submissions > 0
        c["submissions"] += r.submissions
        c["submissions_on_time"] += r.submissions_on_time
        c["awaiting_review"] += r.stage == "submitted"
        c["accepted"] += r.accepted_count > 0
        c["rejected"] += r.rejection_count > 0
        c["rejections"] += r.rejection_count
        standing = r.stage in ("written_off", "held")
        c["written_off"] += standing
        c["held"] += r.stage == "held"
        c["rebounded"] += r.rebound_count > 0
        c["rebounds"] += r.rebound_count
        if standing and r.fed_back_at is not None and r.written_off_at is not None:
            days.append((as_utc(r.written_off_at) - as_utc(r.fed_back_at)).total_seconds() / 86400)
    out: dict[str, Any] = {k: int(v) for k, v in c.items()}
    for key in ("reported", "fed_back", "rectifying", "overdue", "ever_overdue", "submitted", "submissions",
                "submissions_on_time", "awaiting_review", "accepted", "rejected", "rejections", "written_off",
                "held", "rebounded", "rebounds"):
        out.setdefault(key, 0)
    out["rectification_rate"] = _rate(out["written_off"], out["fed_back"])
    out["on_time_rate"] = _rate(out["submissions_on_time"], out["submissions"])
    out["avg_days_to_write_off"] = round(sum(days) / len(days), 2) if days else None
    return out


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
    units_stats = statistics(engine, scope, "unit", round_id)["groups"]

    def sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
        rate, on_time = row["rectification_rate"], row["on_time_rate"]
        return (rate is None, -(rate or 0.0), on_time is None, -(on_time or 0.0), row["rebounds"])

    ordered = sorted(units_stats, key=lambda r: (sort_key(r), r["unit_id"]))
    out, previous, rank = [], None, 0
    for position, row in enumerate(ordered, start=1):
        if sort_key(row) != previous:
            rank, previous = position, sort_key(row)
        out.append({"rank": rank, **row})
    return out
