"""Read side: the rectification ledger (整改台账) and one problem's detail, scoped to who asks by
the disclosure policy (`ducha.disclosure`): a unit its own problems once fed back and not withdrawn,
a helper department those it was assigned to, a team its own, office and cadre everything.

The light depends on today, so it is computed in SQL from bound dates (yellow_from = deadline -
yellow_days is stored) rather than stored: filters and paging by light stay exact every day."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ducha.contracts import Actor, Role
from ducha.contracts.common import Severity
from ducha.disclosure import ProblemScope, Viewer, problem_scope
from ducha.kernel.errors import Forbidden, InvalidCommand
from ducha.kernel.scope import ProblemColumns, problem_conditions
from sqlalchemy import Date, Engine, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from ..domain.facts import ProblemFacts
from ..domain.lights import OPEN_STATUSES, days_left
from .tables import extensions, helps, problems, reminders, rounds, teams, timeline, units

P = problems.c


def light_expr(today: date) -> ColumnElement[Any]:
    """SQL twin of `warnings.light` (a test checks they agree)."""
    return case(
        (P.status.not_in(OPEN_STATUSES), literal(None)),
        (and_(P.deadline.is_(None), P.commit_deadline_by < today), literal("red")),
        (P.deadline.is_(None), literal("green")),
        (P.deadline < today, literal("red")),
        (P.yellow_from <= today, literal("yellow")),
        else_=literal("green"),
    )


@dataclass(frozen=True)
class LedgerFilter:
    unit_id: str | None = None
    team_id: str | None = None
    round_id: str | None = None
    status: str | None = None
    light: str | None = None
    severity: str | None = None
    q: str | None = None  # text in the title, or the 督办编号
    include_closed: bool = True  # withdrawn / duplicate rows
    pending: str | None = None  # a to-do: extension | help | help_report | reminder


def scope_filter(actor: Actor, wanted: LedgerFilter) -> tuple[LedgerFilter, ProblemScope]:
    """Narrow the filter to what the actor may see (asking for another unit or team is refused);
    returns (filter, the disclosure policy's scope for the query)."""
    role = actor.role
    if role == Role.PUBLIC:
        raise Forbidden("the rectification ledger is not public; see published bulletins")
    if role == Role.UNIT:
        wanted = _force(wanted, "unit_id", actor.unit_id)
    elif role == Role.TEAM:
        wanted = _force(wanted, "team_id", actor.team_id)
    return wanted, problem_scope(Viewer.of(actor))


def _force(wanted: LedgerFilter, name: str, value: str | None) -> LedgerFilter:
    asked = getattr(wanted, name)
    if asked is not None and asked != value:
        raise Forbidden(f"you may only see the ledger of your own {name.removesuffix('_id')}")
    return LedgerFilter(**{**wanted.__dict__, name: value})


def _conditions(today: date, f: LedgerFilter, scope: ProblemScope) -> list[ColumnElement[bool]]:
    """The ledger's WHERE clause (on the problems table alone: no join needed to filter or count)."""
    where: list[ColumnElement[bool]] = [P.fed_back.is_(True)]  # the ledger starts at feedback (交办)
    for name in ("unit_id", "team_id", "round_id", "status", "severity"):
        value = getattr(f, name)
        if value is not None:
            where.append(getattr(P, name) == value)
    if f.light is not None:
        where.append(light_expr(today) == f.light)
    if f.q:
        where.append(or_(P.title.contains(f.q, autoescape=True), P.supervision_no.contains(f.q, autoescape=True)))
    if not f.include_closed:
        where.append(P.intake_status == "reported")
    cols = ProblemColumns(
        unit_id=P.unit_id, team_id=P.team_id, disclosed=and_(P.fed_back.is_(True), P.intake_status == "reported"),
        helper=lambda helper: P.problem_id.in_(select(helps.c.problem_id).where(helps.c.helper_id == helper)))
    where.extend(problem_conditions(scope, cols))
    if f.pending is not None:  # only problems still being rectified wait for anyone
        where += [_pending(f.pending, scope.helper_id),
                  P.status.in_(("awaiting_commitment", "rectifying", "submitted"))]
    return where


def _full_rows(today: date) -> Any:
    """Ledger lines with their names, for rows chosen by the caller's WHERE."""
    return (
        select(problems, light_expr(today).label("light"), units.c.name.label("unit_name"),
               teams.c.name.label("team_name"), rounds.c.name.label("round_name"))
        .select_from(problems.outerjoin(units, units.c.unit_id == P.unit_id)
                     .outerjoin(teams, teams.c.team_id == P.team_id)
                     .outerjoin(rounds, rounds.c.round_id == P.round_id))
    )


def _pending(kind: str, helper_id: str | None) -> ColumnElement[bool]:
    """What waits for someone (待办), as a condition on the ledger line."""
    if kind == "extension":
        return P.pending_extension_id.is_not(None)
    if kind == "reminder":
        return P.open_reminders > 0
    if kind == "help":
        return P.problem_id.in_(select(helps.c.problem_id).where(helps.c.helper_id.is_(None)))
    mine = helps.c.helper_id == helper_id if helper_id is not None else helps.c.helper_id.is_not(None)
    return P.problem_id.in_(select(helps.c.problem_id).where(mine, helps.c.reports == 0))


NO_DEADLINE = date(9999, 12, 31)  # sorts after every deadline: "no deadline" comes last


def _sort_keys(today: date) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Red first, then yellow, green, closed; within each by deadline (none last); then by id."""
    light = light_expr(today)
    rank = case((light == "red", 0), (light == "yellow", 1), (light == "green", 2), else_=3)
    return rank, func.coalesce(P.deadline, literal(NO_DEADLINE, Date))


def encode_cursor(rank: int, due: date, problem_id: str) -> str:
    raw = json.dumps([rank, due.isoformat(), problem_id], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, date, str]:
    try:
        rank, due, problem_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return int(rank), date.fromisoformat(due), str(problem_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCommand("cursor is not one this service handed out", field="cursor") from exc


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def ledger(engine: Engine, today: date, f: LedgerFilter, scope: ProblemScope, limit: int, offset: int = 0,
           cursor: str | None = None, count: bool = True) -> Page:
    """One page of the ledger: after `cursor` (keyset: the same cost at any depth) or at `offset`.

    The page's keys are chosen on the problems table alone (sort keys computed per row, a top-N
    sort, no join), then only those rows are read in full with their names."""
    where = _conditions(today, f, scope)
    rank, due = _sort_keys(today)
    keys = select(P.problem_id, rank.label("rank"), due.label("due")).where(*where)
    if cursor is not None:
        r, d, pid = decode_cursor(cursor)
        keys = keys.where(or_(rank > r, and_(rank == r, or_(due > d, and_(due == d, P.problem_id > pid)))))
    elif offset:
        keys = keys.offset(offset)
    keys = keys.order_by(rank, due, P.problem_id).limit(limit)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(problems).where(*where)).scalar_one()) if count else -1
        chosen = conn.execute(keys).all()
        order = {k.problem_id: i for i, k in enumerate(chosen)}
        full = conn.execute(_full_rows(today).where(P.problem_id.in_(list(order)))).all() if order else []
    rows = [ledger_row(r._mapping, today) for r in sorted(full, key=lambda r: order[r.problem_id])]
    last = chosen[-1] if len(chosen) == limit else None
    return Page(rows, total, encode_cursor(int(last.rank), _as_date(last.due), last.problem_id) if last else None)


def ledger_pages(engine: Engine, today: date, f: LedgerFilter, scope: ProblemScope, page: int = 2000
                 ) -> Iterator[dict[str, Any]]:
    """Every ledger line, read in keyset pages (bounded memory, e.g. for the Excel export)."""
    cursor: str | None = None
    while True:
        got = ledger(engine, today, f, scope, page, cursor=cursor, count=False)
        yield from got.rows
        if got.next_cursor is None:
            return
        cursor = got.next_cursor


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


DONE = ("accepted", "written_off")


def ledger_row(m: Any, today: date) -> dict[str, Any]:
    left = days_left(m["deadline"], today) if m["light"] is not None else None
    done = m["status"] in DONE
    return {
        "problem_id": m["problem_id"], "supervision_no": m["supervision_no"], "title": m["title"],
        "category": m["category"],
        "severity": m["severity"], "unit_id": m["unit_id"], "unit_name": m["unit_name"] or m["unit_id"],
        "team_id": m["team_id"], "team_name": m["team_name"] or m["team_id"], "round_id": m["round_id"],
        "round_name": m["round_name"] or m["round_id"], "responsible_person": m["responsible_person"],
        "status": m["status"], "deadline": m["deadline"], "commit_deadline_by": m["commit_deadline_by"],
        "max_deadline": m["max_deadline"], "light": m["light"], "days_left": left,
        "overdue_days": -left if left is not None and left < 0 else 0,
        # Accepted means rectified: no stale 60 % from the last progress report on a closed problem.
        "progress": 100 if done else m["progress"], "plan": m["plan"], "submission_no": m["submission_no"],
        "postponements": m["postponements"], "deadline_changes": m["deadline_changes"],
        "reopen_count": m["reopen_count"], "rebound_count": m["rebound_count"],
        "last_reopen_cause": m["last_reopen_cause"],
        "last_rejection_reasons": list(m["last_rejection_reasons"] or []),
        "commitment_missed": bool(m["commitment_missed"]), "pending_extension_id": m["pending_extension_id"],
        "open_reminders": m["open_reminders"], "dispatch_count": m["dispatch_count"],
        # A 销号号 stands only while the write-off does (a rebound reopens the problem).
        "ledger_no": m["ledger_no"] if m["status"] == "written_off" else None, "updated_at": m["updated_at"],
    }


def problem_detail(engine: Engine, today: date, problem_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(_full_rows(today).where(P.problem_id == problem_id, P.fed_back.is_(True))).first()
        if row is None:
            return None
        detail = ledger_row(row._mapping, today)
        detail["requirements"] = row.requirements
        detail["responsible_person_title"] = row.responsible_person_title
        detail["extensions"] = _rows(conn, select(extensions).where(extensions.c.problem_id == problem_id)
                                     .order_by(extensions.c.requested_at))
        detail["reminders"] = _rows(conn, select(reminders).where(reminders.c.problem_id == problem_id)
                                    .order_by(reminders.c.issued_at))
        detail["helps"] = _rows(conn, select(helps).where(helps.c.problem_id == problem_id)
                                .order_by(helps.c.requested_at))
        detail["timeline"] = _rows(conn, select(timeline).where(timeline.c.problem_id == problem_id)
                                   .order_by(timeline.c.sequence))
    return detail


def _rows(conn: Any, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


# ------------------------------------------------------------- facts for commands
_facts = select(
    P.problem_id, P.unit_id, P.team_id, P.round_id, P.title, P.severity, P.intake_status, P.fed_back,
    P.commit_deadline_by, P.max_deadline, P.yellow_days, P.max_days, P.severe_max_days, P.written_off_seq,
    P.accepted_seq, P.deadline_commit_days, P.last_reopen_seq,
).where(P.problem_id == bindparam("pid"))
_helpers = select(helps.c.helper_id).where(helps.c.problem_id == bindparam("pid"), helps.c.helper_id.is_not(None))


def facts_from_row(row: Any) -> ProblemFacts:
    return ProblemFacts(
        problem_id=row.problem_id, unit_id=row.unit_id, team_id=row.team_id, round_id=row.round_id,
        title=row.title, severity=Severity(row.severity), intake_status=row.intake_status,
        fed_back=bool(row.fed_back), commit_deadline_by=row.commit_deadline_by, max_deadline=row.max_deadline,
        yellow_days=row.yellow_days, max_rectification_days=row.max_days,
        severe_max_rectification_days=row.severe_max_days, written_off_seq=row.written_off_seq,
        accepted_seq=row.accepted_seq, deadline_commit_days=row.deadline_commit_days,
        reopen_seq=row._mapping.get("last_reopen_seq") or 0,  # the warning scan reads without it
    )


def read_facts(engine: Engine, problem_id: str) -> ProblemFacts | None:
    with engine.connect() as conn:
        row = conn.execute(_facts, {"pid": problem_id}).first()
    return facts_from_row(row) if row is not None else None


def read_helper_ids(engine: Engine, problem_id: str) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(_helpers, {"pid": problem_id})}
