"""Reads of the verification projection (synchronous; handlers run them in a thread)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ducha.kernel.errors import InvalidCommand
from sqlalchemy import Engine, bindparam, select

from ..domain.facts import ProblemFacts
from .scope import Scope
from .tables import (
    as_utc,
    decisions,
    ledger,
    problems,
    recheck_items,
    rounds,
    spotcheck_items,
    spotchecks,
    submissions,
    teams,
    units,
)

P = problems.c
_facts = select(P.problem_id, P.unit_id, P.round_id, P.team_id, P.severity, P.title, P.excluded,
                P.fed_back_at, P.latest_submission_no).where(P.problem_id == bindparam("pid"))
_revisit_days = select(rounds.c.revisit_after_days).where(rounds.c.round_id == bindparam("rid"))
_unit = select(units.c.unit_id).where(units.c.unit_id == bindparam("uid"))
_problem = select(problems).where(P.problem_id == bindparam("pid"))
_subs = select(submissions).where(submissions.c.problem_id == bindparam("pid")).order_by(submissions.c.submission_no)
_lines = select(ledger).where(ledger.c.problem_id == bindparam("pid")).order_by(ledger.c.ledger_no)
_spot = select(spotchecks).where(spotchecks.c.spotcheck_id == bindparam("sid"))
_spot_items = (select(spotcheck_items).where(spotcheck_items.c.spotcheck_id == bindparam("sid"))
               .order_by(spotcheck_items.c.position))
_population = {
    "written_off": select(P.problem_id).where(P.round_id == bindparam("rid"), P.excluded.is_(False),
                                              P.stage.in_(["written_off", "held"])),
    "achievements": select(P.problem_id).where(P.round_id == bindparam("rid"), P.excluded.is_(False),
                                               P.accepted_count > 0),
}


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key, value in out.items():
        if hasattr(value, "tzinfo") and hasattr(value, "hour"):
            out[key] = as_utc(value)
    return out


def problem_facts(engine: Engine, problem_id: str) -> ProblemFacts | None:
    with engine.connect() as conn:
        row = conn.execute(_facts, {"pid": problem_id}).first()
    if row is None or row.round_id is None:  # not reported yet (as far as we know)
        return None
    return ProblemFacts(row.problem_id, row.unit_id, row.round_id, row.team_id, row.severity, row.title,
                        bool(row.excluded), row.fed_back_at is not None, int(row.latest_submission_no))


def revisit_after_days(engine: Engine, round_id: str) -> int | None:
    with engine.connect() as conn:
        value = conn.execute(_revisit_days, {"rid": round_id}).scalar_one_or_none()
    return int(value) if value is not None else None


def unit_known(engine: Engine, unit_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(_unit, {"uid": unit_id}).first() is not None


def population(engine: Engine, round_id: str, kind: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(_population[kind], {"rid": round_id}))


def problem_view(engine: Engine, problem_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(_problem, {"pid": problem_id}).first()
        if row is None:
            return None
        out = _row(row)
        out["submission_count"] = out.pop("submissions")
        out["submissions"] = [_submission(_row(r)) for r in conn.execute(_subs, {"pid": problem_id})]
        out["ledger"] = [_row(r) for r in conn.execute(_lines, {"pid": problem_id})]
    out.pop("last_sequence")
    return out


def in_scope(engine: Engine, scope: Scope, problem_id: str) -> bool:
    if scope.everything:
        return True
    with engine.connect() as conn:
        return conn.execute(select(P.problem_id).where(P.problem_id == problem_id, *scope.where(problems))).first() is not None


def _submission(row: dict[str, Any]) -> dict[str, Any]:
    row["evidence"] = json.loads(row["evidence"])
    row["reasons"] = json.loads(row["reasons"]) if row["reasons"] else []
    return row


@dataclass(frozen=True)
class Page:
    """Paging of a list: all of it (no limit), or `limit` rows after `offset` rows or, faster at any
    depth, after the `cursor` a previous page answered as `next_cursor` (keyset paging)."""

    limit: int | None = None
    offset: int = 0
    cursor: str | None = None


def _paged(conn: Any, q: Any, page: Page, key: Any, key_of: Callable[[dict[str, Any]], str],
           parse: Callable[[str], Any] = str) -> tuple[list[dict[str, Any]], str | None]:
    if page.cursor:
        try:
            after = parse(page.cursor)
        except ValueError as exc:
            raise InvalidCommand("cursor: not one this list answered", field="cursor") from exc
        q = q.where(key > after)
    if page.limit is None:
        return [_row(r) for r in conn.execute(q.offset(page.offset or None))], None
    rows = [_row(r) for r in conn.execute(q.offset(page.offset or None).limit(page.limit + 1))]
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    return rows, (key_of(rows[-1]) if more and rows else None)


def list_problems(engine: Engine, scope: Scope, round_id: str | None = None, unit_id: str | None = None,
                  team_id: str | None = None, stage: str | None = None,
                  page: Page = Page()) -> tuple[list[dict[str, Any]], str | None]:
    """Problems in id order, and the cursor of the next page (None: no more)."""
    q = select(problems).where(*scope.where(problems), P.round_id.is_not(None)).order_by(P.problem_id)
    for col, value in (("round_id", round_id), ("unit_id", unit_id), ("team_id", team_id), ("stage", stage)):
        if value is not None:
            q = q.where(P[col] == value)
    with engine.connect() as conn:
        return _paged(conn, q, page, P.problem_id, lambda r: str(r["problem_id"]))


def ledger_rows(engine: Engine, scope: Scope, round_id: str) -> list[dict[str, Any]]:
    """The round's whole write-off ledger with names, in ledger order."""
    return ledger_page(engine, scope, round_id, Page())[0]


def ledger_page(engine: Engine, scope: Scope, round_id: str, page: Page) -> tuple[list[dict[str, Any]], str | None]:
    """The round's write-off ledger with names, in ledger order, and the next page's cursor."""
    q = (
        select(ledger, P.title, P.team_id, P.severity, P.category, units.c.name.label("unit_name"),
               teams.c.name.label("team_name"), submissions.c.reviewed_at.label("accepted_at"),
               submissions.c.effectiveness, submissions.c.assessment)
        .join(problems, P.problem_id == ledger.c.problem_id)
        .outerjoin(units, units.c.unit_id == ledger.c.unit_id)
        .outerjoin(teams, teams.c.team_id == P.team_id)
        .outerjoin(submissions, (submissions.c.problem_id == ledger.c.problem_id)
                   & (submissions.c.submission_no == ledger.c.submission_no))
        .where(ledger.c.round_id == round_id, *scope.where(problems))
        .order_by(ledger.c.ledger_no)
    )
    with engine.connect() as conn:
        return _paged(conn, q, page, ledger.c.ledger_no, lambda r: str(r["ledger_no"]), int)


def revisits_due(engine: Engine, scope: Scope, round_id: str | None, due_by: Any) -> list[dict[str, Any]]:
    q = (select(ledger, P.team_id, P.title).join(problems, P.problem_id == ledger.c.problem_id)
         .where(ledger.c.revisit_outcome.is_(None), *scope.where(problems))
         .order_by(ledger.c.revisit_due_on, ledger.c.round_id, ledger.c.ledger_no))
    if round_id:
        q = q.where(ledger.c.round_id == round_id)
    if due_by is not None:
        q = q.where(ledger.c.revisit_due_on <= due_by)
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def spotcheck_view(engine: Engine, spotcheck_id: str, scope: Scope) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(_spot, {"sid": spotcheck_id}).first()
        if row is None:
            return None
        out = _row(row)
        items = [_row(r) for r in conn.execute(_spot_items, {"sid": spotcheck_id})]
    out["seed"] = int(out["seed"])
    out["population_ids"] = json.loads(out["population_ids"])
    out["selected_ids"] = [i["problem_id"] for i in items]
    if not scope.everything:  # a unit or team sees only its own items, not the whole sample
        out.pop("population_ids")
        allowed = {r["problem_id"] for r in list_problems(engine, scope, round_id=out["round_id"])[0]}
        items = [i for i in items if i["problem_id"] in allowed]
        out["selected_ids"] = [i["problem_id"] for i in items]
    out["items"] = items
    return out


def list_spotchecks(engine: Engine, round_id: str | None) -> list[dict[str, Any]]:
    q = select(spotchecks.c.spotcheck_id, spotchecks.c.round_id, spotchecks.c.population, spotchecks.c.seed,
               spotchecks.c.sample_size, spotchecks.c.drawn_at).order_by(spotchecks.c.sequence)
    if round_id:
        q = q.where(spotchecks.c.round_id == round_id)
    with engine.connect() as conn:
        return [{**_row(r), "seed": int(r.seed)} for r in conn.execute(q)]


def recheck_items_of(engine: Engine, scope: Scope, recheck_id: str | None = None,
                     round_id: str | None = None) -> list[dict[str, Any]]:
    t = recheck_items
    q = select(t).where(*scope.where(t)).order_by(t.c.sequence)
    if recheck_id:
        q = q.where(t.c.recheck_id == recheck_id)
    if round_id:
        q = q.where(t.c.round_id == round_id)
    with engine.connect() as conn:
        return [{**_row(r), "means": json.loads(r.means)} for r in conn.execute(q)]


def list_decisions(engine: Engine, scope: Scope, unit_id: str | None = None, problem_id: str | None = None,
                   round_id: str | None = None) -> list[dict[str, Any]]:
    t = decisions
    q = select(t).where(*scope.where(t)).order_by(t.c.sequence)
    for col, value in (("unit_id", unit_id), ("problem_id", problem_id), ("round_id", round_id)):
        if value is not None:
            q = q.where(t.c[col] == value)
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def round_names(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.round_id: r.name for r in conn.execute(select(rounds.c.round_id, rounds.c.name))}
