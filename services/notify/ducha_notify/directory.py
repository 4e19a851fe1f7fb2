"""The notify service's picture of the world, projected from intake, rectification and
verification: who to tell (units, helpers, persons, teams) and where each problem stands (for
reminders, escalation, digests and bulletin statistics)."""

from __future__ import annotations

import json
from typing import Any

from ducha import figures
from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)

metadata = MetaData()
units = Table("notify_units", metadata, Column("id", String(64), primary_key=True), Column("name", Text, nullable=False),
              Column("contact_name", Text, nullable=False), Column("contact_email", Text, nullable=False))
helpers = Table("notify_helpers", metadata, Column("id", String(64), primary_key=True), Column("name", Text, nullable=False),
                Column("contact_name", Text, nullable=False), Column("contact_email", Text, nullable=False))
persons = Table("notify_persons", metadata, Column("id", String(64), primary_key=True), Column("name", Text, nullable=False),
                Column("role", String(16), nullable=False, index=True), Column("org_id", String(64), index=True),
                Column("email", Text, nullable=False))
teams = Table("notify_teams", metadata, Column("id", String(64), primary_key=True), Column("name", Text, nullable=False),
              Column("round_id", String(64), nullable=False), Column("member_ids", Text, nullable=False))
team_units = Table("notify_team_units", metadata, Column("team_id", String(64), primary_key=True),
                   Column("unit_id", String(64), primary_key=True))
rounds = Table("notify_rounds", metadata, Column("id", String(64), primary_key=True), Column("name", Text, nullable=False),
               Column("number", Integer, nullable=False), Column("yellow_days", Integer, nullable=False))
problems = Table(
    "notify_problems", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("team_id", String(64), nullable=False, index=True),
    Column("round_id", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("publishable", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # reported fed_back rectifying submitted verified written_off withdrawn
    Column("deadline", Date),
    Column("missed_deadline", Date),
    Column("missed_at", DateTime(timezone=True)),
    Column("rejected_open", Boolean, nullable=False, default=False),
    Column("overdue_count", Integer, nullable=False, default=0),
    Column("rejected_count", Integer, nullable=False, default=0),
    Column("rebounded", Boolean, nullable=False, default=False),
    Column("effectiveness", String(8)),
    Column("assessment", Text),
    Column("revisit_due_on", Date),
    Column("revisited", Boolean, nullable=False, default=False),
    # ducha.figures.Facts as JSON: the bulletin counts exactly as the statistics API does
    Column("figures", Text, nullable=False, default="{}"),
)
FIGURE_EVENTS = ("IssueWithdrawn", "IssueMarkedDuplicate", "IssueFedBack", "DeadlineSet", "DeadlineMissed",
                 "RectificationSubmitted", "RectificationReopened", "RectificationVerified",
                 "RectificationRejected", "ProblemWrittenOff", "RevisitRecorded")


_SETS: dict[tuple[str, ...], Any] = {}
_insert_problem = problems.insert()
_missed = update(problems).where(problems.c.id == bindparam("k")).values(
    missed_deadline=bindparam("v_missed_deadline"), missed_at=bindparam("v_missed_at"),
    overdue_count=problems.c.overdue_count + 1)
_rejected = update(problems).where(problems.c.id == bindparam("k")).values(
    status="rectifying", rejected_open=True, rejected_count=problems.c.rejected_count + 1)


def _set(conn: Connection, pid: str, **values: Any) -> None:
    """UPDATE problems SET <values> WHERE id = pid, with one prebuilt statement per set of columns:
    building a statement per event cost more than executing it (replay speed)."""
    cols = tuple(sorted(values))
    stmt = _SETS.get(cols)
    if stmt is None:
        stmt = _SETS[cols] = update(problems).where(problems.c.id == bindparam("k")).values(
            {c: bindparam("v_" + c) for c in cols})
    conn.execute(stmt, {"k": pid, **{"v_" + c: x for c, x in values.items()}})


class DirectoryProjection(Projection):
    name = "notify_directory"
    version = 2  # 2: per-problem figure facts
    subjects = (context_filter("intake"), context_filter("rectification"), context_filter("verification"))
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        p, aid = event.payload, event.aggregate_id
        if p.event_type in FIGURE_EVENTS:
            self._fold(conn, event)
        if isinstance(p, (i.UnitRegistered, i.UnitUpdated)):
            conn.execute(units.delete().where(units.c.id == aid))
            conn.execute(units.insert().values(id=aid, name=p.name, contact_name=p.contact_name, contact_email=p.contact_email))
        elif isinstance(p, i.HelperDepartmentRegistered):
            conn.execute(helpers.insert().values(id=aid, name=p.name, contact_name=p.contact_name, contact_email=p.contact_email))
        elif isinstance(p, i.PersonRegistered):
            conn.execute(persons.delete().where(persons.c.id == aid))
            conn.execute(persons.insert().values(id=aid, name=p.name, role=p.role.value, org_id=p.org_id, email=p.email))
        elif isinstance(p, i.RoundOpened):
            conn.execute(rounds.insert().values(id=aid, name=p.name, number=p.number, yellow_days=p.yellow_days))
        elif isinstance(p, i.TeamFormed):
            members = sorted({*p.member_ids, p.leader_id})
            conn.execute(teams.insert().values(id=aid, name=p.name, round_id=p.round_id, member_ids=json.dumps(members)))
        elif isinstance(p, i.TeamAssignedToUnits):
            for unit in p.unit_ids:
                conn.execute(team_units.delete().where(team_units.c.team_id == aid, team_units.c.unit_id == unit))
                conn.execute(team_units.insert().values(team_id=aid, unit_id=unit))
        elif isinstance(p, i.IssueReported):
            conn.execute(_insert_problem, dict(
                id=aid, unit_id=event.unit_id or "_", team_id=p.team_id, round_id=p.round_id, title=p.title,
                category=p.category, publishable=p.publishable, status="reported", rejected_open=False,
                overdue_count=0, rejected_count=0, rebounded=False, revisited=False, figures="{}"))
        elif isinstance(p, i.IssueAmended):
            values = {k: getattr(p, k) for k in ("title", "category", "publishable") if getattr(p, k) is not None}
            if values:
                _set(conn, aid, **values)
        elif isinstance(p, (i.IssueWithdrawn, i.IssueMarkedDuplicate)):
            _set(conn, aid, status="withdrawn")
        elif isinstance(p, i.IssueFedBack):
            _set(conn, aid, status="fed_back")
        elif isinstance(p, r.DeadlineSet):
            _set(conn, aid, status="rectifying", deadline=p.deadline, missed_deadline=None, missed_at=None)
        elif isinstance(p, r.DeadlineMissed):
            conn.execute(_missed, {"k": aid, "v_missed_deadline": p.deadline, "v_missed_at": event.occurred_at})
        elif isinstance(p, r.RectificationSubmitted):
            _set(conn, aid, status="submitted", missed_deadline=None, missed_at=None, rejected_open=False)
        elif isinstance(p, r.RectificationReopened):
            extra = {"rebounded": True} if p.cause == r.ReopenCause.REBOUNDED else {}
            _set(conn, aid, status="rectifying", **extra)
        elif isinstance(p, v.RectificationRejected):
            conn.execute(_rejected, {"k": aid})
        elif isinstance(p, v.RectificationVerified):
            _set(conn, aid, status="verified", effectiveness=p.effectiveness.value, assessment=p.assessment,
                 missed_deadline=None, missed_at=None)
        elif isinstance(p, v.ProblemWrittenOff):
            _set(conn, aid, status="written_off", revisit_due_on=p.revisit_due_on)
        elif isinstance(p, v.RevisitRecorded):
            rebounded = p.outcome == v.RevisitOutcome.REBOUNDED
            _set(conn, aid, revisited=True, **({"rebounded": True} if rebounded else {}))

    @staticmethod
    def _fold(conn: Connection, event: Envelope[DomainEvent]) -> None:
        raw = conn.execute(select(problems.c.figures).where(problems.c.id == event.aggregate_id)).scalar_one_or_none()
        if raw is None:
            return
        before = figures.Facts.from_json(json.loads(raw))
        after = figures.fold(before, event.payload.event_type, event.payload, event.occurred_at)
        if after != before:
            _set(conn, event.aggregate_id, figures=json.dumps(after.to_json()))


def problem(conn: Connection, pid: str) -> dict[str, Any] | None:
    row = conn.execute(select(problems).where(problems.c.id == pid)).mappings().first()
    return dict(row) if row else None


def unit_name(conn: Connection, unit_id: str | None) -> str:
    if not unit_id:
        return ""
    name = conn.execute(select(units.c.name).where(units.c.id == unit_id)).scalar_one_or_none()
    return str(name or unit_id)
