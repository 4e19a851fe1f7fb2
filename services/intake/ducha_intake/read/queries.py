"""Reads of the intake read model, with each actor's scope enforced in the query.

Visibility is the disclosure policy's (`ducha.disclosure.problem_scope`): office, cadre and
system see everything; a team sees its own problems and those of the units it is assigned to; a
unit sees only its own problems, once fed back and not withdrawn; helper departments and the
public see no problems here (intake does not know helper assignments or bulletins)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ducha import disclosure
from ducha.contracts.base import Actor, Role
from ducha.contracts.common import LABELS_ZH
from ducha.disclosure import Viewer
from ducha.kernel.errors import Forbidden, InvalidCommand, NotFound
from ducha.kernel.scope import ProblemColumns, problem_conditions
from sqlalchemy import Date, DateTime, Engine, Table, and_, func, literal, select, tuple_

from .tables import contents, helpers, persons, problems, rounds, suggestions, team_units, teams, units

JSON_COLUMNS = {"focus_areas", "unit_ids", "locations", "member_ids", "member_names", "evidence", "problem_ids"}
STATUS_ZH = {"reported": "已上报", "fed_back": "已交办", "withdrawn": "已撤回", "duplicate": "重复",
             "pending": "待审批", "approved": "已审批", "returned": "已退回", "open": "进行中",
             "closed": "已结束", "handled": "已处理"}
SEE_ALL = (Role.OFFICE, Role.CADRE, Role.SYSTEM)


def row_dict(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if key == "last_sequence":
            out["sequence"] = value
        elif key in JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
        elif isinstance(value, datetime) and value.tzinfo is None:
            out[key] = value.replace(tzinfo=UTC)  # SQLite keeps no offset; we store UTC
        else:
            out[key] = value
    if "status" in out:
        out["status_label"] = STATUS_ZH.get(out["status"], out["status"])
    for key in ("severity", "found_by", "kind"):
        if key in out and out[key] is not None:
            out[f"{key}_label"] = LABELS_ZH.get(out[key], out[key])
    return out


@dataclass(frozen=True)
class Page:
    """A page of a list: `limit` rows after `cursor` (keyset: as fast at any depth), or after
    skipping `offset` rows (kept for clients that count pages)."""

    limit: int = 50
    offset: int = 0
    cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    """The position after a row: its ordering values, opaque to clients."""
    plain = [v.isoformat() if isinstance(v, (date, datetime)) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str, columns: Sequence[Any]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong length")
        out: list[Any] = []
        for value, column in zip(values, columns, strict=True):
            if isinstance(column.type, DateTime) and value is not None:
                parsed = datetime.fromisoformat(value)
                out.append(parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed)
            elif isinstance(column.type, Date) and value is not None:
                out.append(date.fromisoformat(value))
            else:
                out.append(value)
        return out
    except (ValueError, TypeError, binascii.Error):
        raise InvalidCommand("cursor: not a cursor this list gave (use next_cursor as returned)",
                             field="cursor") from None


def _page(engine: Engine, query: Any, order: Sequence[Any], page: Page) -> dict[str, Any]:
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        if page.cursor:
            after = decode_cursor(page.cursor, order)
            query = query.where(tuple_(*order) > tuple_(*(literal(v, c.type) for v, c in zip(after, order, strict=True))))
            rows = conn.execute(query.order_by(*order).limit(page.limit)).all()
        else:
            rows = conn.execute(query.order_by(*order).limit(page.limit).offset(page.offset)).all()
    last = rows[-1]._mapping if len(rows) == page.limit else None
    return {"items": [row_dict(r) for r in rows], "total": total, "limit": page.limit, "offset": page.offset,
            "next_cursor": encode_cursor([last[c.name] for c in order]) if last is not None else None}


# ------------------------------------------------------------------ problems
def problem_scope(actor: Actor) -> Any:
    if actor.role not in (*SEE_ALL, Role.TEAM, Role.UNIT):
        raise Forbidden(f"role '{actor.role.value}' sees no problems in intake (无权查看问题)")
    cols = ProblemColumns(
        unit_id=problems.c.unit_id, team_id=problems.c.team_id,
        disclosed=and_(problems.c.fed_back_at.is_not(None), problems.c.status.not_in(("withdrawn", "duplicate"))),
        team_units=lambda team: problems.c.unit_id.in_(select(team_units.c.unit_id).where(team_units.c.team_id == team)))
    conditions = problem_conditions(disclosure.problem_scope(Viewer.of(actor)), cols)
    return and_(*conditions) if conditions else None


@dataclass(frozen=True)
class ProblemFilter:
    round_id: str | None = None
    team_id: str | None = None
    unit_id: str | None = None
    category: str | None = None
    status: str | None = None
    severity: str | None = None


def list_problems(engine: Engine, actor: Actor, f: ProblemFilter, page: Page) -> dict[str, Any]:
    query = select(problems)
    scope = problem_scope(actor)
    if scope is not None:
        query = query.where(scope)
    for name in ("round_id", "team_id", "unit_id", "category", "status", "severity"):
        value = getattr(f, name)
        if value is not None:
            query = query.where(problems.c[name] == value)
    return _page(engine, query, (problems.c.reported_at, problems.c.id), page)


def get_problem(engine: Engine, actor: Actor, problem_id: str) -> dict[str, Any]:
    query = select(problems).where(problems.c.id == problem_id)
    scope = problem_scope(actor)
    if scope is not None:
        query = query.where(scope)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no problem {problem_id} (问题不存在)")
    return row_dict(row)


def assigned_units(engine: Engine, team_id: str) -> set[str]:
    """The units a team is assigned to (TeamAssignedToUnits)."""
    with engine.connect() as conn:
        return {str(u) for u in conn.execute(select(team_units.c.unit_id).where(team_units.c.team_id == team_id)).scalars()}


def problem_ids_of_team(engine: Engine, ids: Iterable[str], team_id: str) -> set[str]:
    query = select(problems.c.id).where(problems.c.id.in_(list(ids)), problems.c.team_id == team_id)
    with engine.connect() as conn:
        return {str(v) for v in conn.execute(query).scalars()}


# ---------------------------------------------------------- everything else
def list_table(engine: Engine, table: Table, page: Page, order: Any = None, **equals: Any) -> dict[str, Any]:
    query = select(table)
    for name, value in equals.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return _page(engine, query, (order, table.c.id) if order is not None else (table.c.id,), page)


def list_contents(engine: Engine, scope: Any, page: Page, **equals: Any) -> dict[str, Any]:
    query = select(contents)
    if scope is not None:
        query = query.where(scope)
    for name, value in equals.items():
        if value is not None:
            query = query.where(contents.c[name] == value)
    return _page(engine, query, (contents.c.drafted_at, contents.c.id), page)


def get_one(engine: Engine, table: Table, ident: str, what: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == ident)).first()
    if row is None:
        raise NotFound(f"no {what} {ident}")
    return row_dict(row)


def get_team(engine: Engine, team_id: str) -> dict[str, Any]:
    team = get_one(engine, teams, team_id, "team (督查组不存在)")
    with engine.connect() as conn:
        team["unit_ids"] = sorted(conn.execute(
            select(team_units.c.unit_id).where(team_units.c.team_id == team_id)).scalars())
    return team


__all__ = ["contents", "helpers", "persons", "rounds", "suggestions", "teams", "units"]
