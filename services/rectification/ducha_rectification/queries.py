"""Read side: the rectification ledger (整改台账) and one problem's detail, scoped to who asks by
the disclosure policy (`ducha.disclosure`): a unit its own problems once fed back and not withdrawn,
a helper department those it was assigned to, a team its own, office and cadre everything.

The light depends on today, so it is computed in SQL from bound dates (yellow_from = deadline -
yellow_days is stored) rather than stored: filters and paging by light stay exact every day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ducha.contracts import Actor, Role
from ducha.disclosure import ProblemScope, Viewer, problem_scope
from ducha.kernel.errors import Forbidden
from ducha.kernel.scope import ProblemColumns, problem_conditions
from sqlalchemy import Engine, and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from .tables import extensions, helps, problems, reminders, rounds, teams, timeline, units
from .warnings import OPEN_STATUSES, days_left

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


def _ledger_select(today: date, f: LedgerFilter, scope: ProblemScope) -> Any:
    lit = light_expr(today).label("light")
    query = (
        select(problems, lit, units.c.name.label("unit_name"), teams.c.name.label("team_name"),
               rounds.c.name.label("round_name"))
        .select_from(problems.outerjoin(units, units.c.unit_id == P.unit_id)
                     .outerjoin(teams, teams.c.team_id == P.team_id)
                     .outerjoin(rounds, rounds.c.round_id == P.round_id))
        .where(P.fed_back.is_(True))  # the ledger starts at feedback (交办)
    )
    for name in ("unit_id", "team_id", "round_id", "status", "severity"):
        value = getattr(f, name)
        if value is not None:
            query = query.where(getattr(P, name) == value)
    if f.light is not None:
        query = query.where(light_expr(today) == f.light)
    if f.q:
        query = query.where(or_(P.title.contains(f.q, autoescape=True),
                                P.supervision_no.contains(f.q, autoescape=True)))
    if not f.include_closed:
        query = query.where(P.intake_status == "reported")
    cols = ProblemColumns(
        unit_id=P.unit_id, team_id=P.team_id, disclosed=and_(P.fed_back.is_(True), P.intake_status == "reported"),
        helper=lambda helper: P.problem_id.in_(select(helps.c.problem_id).where(helps.c.helper_id == helper)))
    query = query.where(*problem_conditions(scope, cols))
    if f.pending is not None:  # only problems still being rectified wait for anyone
        query = query.where(_pending(f.pending, scope.helper_id), P.status.in_(("awaiting_commitment", "rectifying",
                                                                                "submitted")))
    return query


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


def ledger(engine: Engine, today: date, f: LedgerFilter, scope: ProblemScope, limit: int, offset: int
           ) -> tuple[list[dict[str, Any]], int]:
    base = _ledger_select(today, f, scope)
    rank = case((light_expr(today) == "red", 0), (light_expr(today) == "yellow", 1),
                (light_expr(today) == "green", 2), else_=3)
    # Red first, then yellow, then by deadline: what needs attention comes first.
    page = base.order_by(rank, P.deadline.is_(None), P.deadline, P.problem_id).limit(limit).offset(offset)
    count = select(func.count()).select_from(base.subquery())
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = [ledger_row(r._mapping, today) for r in conn.execute(page)]
    return rows, total


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
        row = conn.execute(_ledger_select(today, LedgerFilter(), ProblemScope(everything=True)).where(P.problem_id == problem_id)).first()
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
