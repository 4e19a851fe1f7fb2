"""The directory projection: notify's picture of the world, projected from intake, rectification
and verification — who to tell (units, helpers, persons, teams) and where each problem stands (for
reminders, escalation, digests and bulletin statistics).

Set-based (replay speed): a batch's problems are read in one query, its events applied to those
rows in memory (one `@Projection.handles` method per event type), and the rows written back with
one prebuilt INSERT and one prebuilt UPDATE over the whole batch. Directory entries (units,
persons, teams, rounds) are few and written as they come.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ducha import figures
from ducha.contracts import DomainEvent, Envelope
from ducha.contracts import intake as i
from ducha.contracts import rectification as r
from ducha.contracts import verification as v
from ducha.kernel.batched import BatchedProjection
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from sqlalchemy import Connection, bindparam, select, update

from ..batching import Rows, chunks
from .tables import helpers, metadata, persons, problems, rounds, team_units, teams, units

FIGURE_EVENTS = frozenset({
    "IssueWithdrawn", "IssueMarkedDuplicate", "IssueFedBack", "DeadlineSet", "DeadlineMissed",
    "RectificationSubmitted", "RectificationReopened", "RectificationVerified", "RectificationRejected",
    "ProblemWrittenOff", "RevisitRecorded"})
COLUMNS = tuple(c.name for c in problems.columns)
_insert = problems.insert()
_update = update(problems).where(problems.c.id == bindparam("k")).values(
    {c: bindparam(c) for c in COLUMNS if c != "id"})


class Batch:
    """The problems of one batch, as rows in memory, plus the connection for directory entries."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows = Rows()
        self.facts: dict[str, figures.Facts] = {}  # parsed `figures` of the rows touched

    def load(self, ids: set[str]) -> None:
        for part in chunks(sorted(ids)):
            for row in self.conn.execute(select(problems).where(problems.c.id.in_(part))).mappings():
                self.rows.loaded(row["id"], dict(row))

    def problem(self, pid: str) -> dict[str, Any] | None:
        return self.rows.get(pid)

    def flush(self) -> None:
        for pid, facts in self.facts.items():
            row = self.rows.get(pid)
            if row is not None:
                text = json.dumps(facts.to_json())
                if text != row["figures"]:
                    self.rows.set(pid, figures=text)
        inserts, updates = self.rows.changes()
        if inserts:
            self.conn.execute(_insert, inserts)
        if updates:
            self.conn.execute(_update, [{"k": row["id"], **{c: row[c] for c in COLUMNS if c != "id"}}
                                        for row in updates])


class DirectoryProjection(BatchedProjection[Batch]):
    name = "notify_directory"
    version = 2  # 2: per-problem figure facts
    subjects = (context_filter("intake"), context_filter("rectification"), context_filter("verification"))
    metadata = metadata
    also_reads = FIGURE_EVENTS

    def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> Batch:
        batch = Batch(conn)
        batch.load({e.aggregate_id for e in events if e.aggregate_type == "problem"
                    and not isinstance(e.payload, i.IssueReported)})
        return batch

    def before(self, batch: Batch, event: Envelope[DomainEvent]) -> None:
        if event.event_type in FIGURE_EVENTS:
            self._fold(batch, event)

    @staticmethod
    def _fold(batch: Batch, event: Envelope[DomainEvent]) -> None:
        pid = event.aggregate_id
        row = batch.problem(pid)
        if row is None:
            return
        before = batch.facts.get(pid)
        if before is None:
            before = figures.Facts.from_json(json.loads(row["figures"]))
        batch.facts[pid] = figures.fold(before, event.payload.event_type, event.payload, event.occurred_at)

    # ------------------------------------------------------------- directory
    @Projection.handles(i.UnitRegistered, i.UnitUpdated)
    def _unit(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(units.delete().where(units.c.id == e.aggregate_id))
        b.conn.execute(units.insert().values(id=e.aggregate_id, name=p.name, contact_name=p.contact_name,
                                             contact_email=p.contact_email))

    @Projection.handles(i.HelperDepartmentRegistered)
    def _helper(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(helpers.insert().values(id=e.aggregate_id, name=p.name, contact_name=p.contact_name,
                                               contact_email=p.contact_email))

    @Projection.handles(i.PersonRegistered)
    def _person(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(persons.delete().where(persons.c.id == e.aggregate_id))
        b.conn.execute(persons.insert().values(id=e.aggregate_id, name=p.name, role=p.role.value, org_id=p.org_id,
                                               email=p.email))

    @Projection.handles(i.RoundOpened)
    def _round(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.conn.execute(rounds.insert().values(id=e.aggregate_id, name=p.name, number=p.number,
                                              yellow_days=p.yellow_days))

    @Projection.handles(i.TeamFormed)
    def _team(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        members = sorted({*p.member_ids, p.leader_id})
        b.conn.execute(teams.insert().values(id=e.aggregate_id, name=p.name, round_id=p.round_id,
                                             member_ids=json.dumps(members)))

    @Projection.handles(i.TeamAssignedToUnits)
    def _team_units(self, b: Batch, e: Envelope[Any]) -> None:
        for unit in e.payload.unit_ids:
            b.conn.execute(team_units.delete().where(team_units.c.team_id == e.aggregate_id,
                                                     team_units.c.unit_id == unit))
            b.conn.execute(team_units.insert().values(team_id=e.aggregate_id, unit_id=unit))

    # -------------------------------------------------------------- problems
    @Projection.handles(i.IssueReported)
    def _reported(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.rows.insert(e.aggregate_id, {
            "id": e.aggregate_id, "unit_id": e.unit_id or "_", "team_id": p.team_id, "round_id": p.round_id,
            "title": p.title, "category": p.category, "publishable": p.publishable, "status": "reported",
            "deadline": None, "missed_deadline": None, "missed_at": None, "rejected_open": False,
            "overdue_count": 0, "rejected_count": 0, "rebounded": False, "effectiveness": None,
            "assessment": None, "revisit_due_on": None, "revisited": False, "figures": "{}"})

    @Projection.handles(i.IssueAmended)
    def _amended(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.rows.set(e.aggregate_id, **{k: getattr(p, k) for k in ("title", "category", "publishable")
                                      if getattr(p, k) is not None})

    @Projection.handles(i.IssueWithdrawn, i.IssueMarkedDuplicate)
    def _withdrawn(self, b: Batch, e: Envelope[Any]) -> None:
        b.rows.set(e.aggregate_id, status="withdrawn")

    @Projection.handles(i.IssueFedBack)
    def _fed_back(self, b: Batch, e: Envelope[Any]) -> None:
        b.rows.set(e.aggregate_id, status="fed_back")

    @Projection.handles(r.DeadlineSet)
    def _deadline(self, b: Batch, e: Envelope[Any]) -> None:
        b.rows.set(e.aggregate_id, status="rectifying", deadline=e.payload.deadline, missed_deadline=None,
                   missed_at=None)

    @Projection.handles(r.DeadlineMissed)
    def _missed(self, b: Batch, e: Envelope[Any]) -> None:
        row = b.problem(e.aggregate_id)
        if row is not None:
            b.rows.set(e.aggregate_id, missed_deadline=e.payload.deadline, missed_at=e.occurred_at,
                       overdue_count=row["overdue_count"] + 1)

    @Projection.handles(r.RectificationSubmitted)
    def _submitted(self, b: Batch, e: Envelope[Any]) -> None:
        b.rows.set(e.aggregate_id, status="submitted", missed_deadline=None, missed_at=None, rejected_open=False)

    @Projection.handles(r.RectificationReopened)
    def _reopened(self, b: Batch, e: Envelope[Any]) -> None:
        extra = {"rebounded": True} if e.payload.cause == r.ReopenCause.REBOUNDED else {}
        b.rows.set(e.aggregate_id, status="rectifying", **extra)

    @Projection.handles(v.RectificationRejected)
    def _rejected(self, b: Batch, e: Envelope[Any]) -> None:
        row = b.problem(e.aggregate_id)
        if row is not None:
            b.rows.set(e.aggregate_id, status="rectifying", rejected_open=True,
                       rejected_count=row["rejected_count"] + 1)

    @Projection.handles(v.RectificationVerified)
    def _verified(self, b: Batch, e: Envelope[Any]) -> None:
        p = e.payload
        b.rows.set(e.aggregate_id, status="verified", effectiveness=p.effectiveness.value, assessment=p.assessment,
                   missed_deadline=None, missed_at=None)

    @Projection.handles(v.ProblemWrittenOff)
    def _written_off(self, b: Batch, e: Envelope[Any]) -> None:
        b.rows.set(e.aggregate_id, status="written_off", revisit_due_on=e.payload.revisit_due_on)

    @Projection.handles(v.RevisitRecorded)
    def _revisited(self, b: Batch, e: Envelope[Any]) -> None:
        rebounded = e.payload.outcome == v.RevisitOutcome.REBOUNDED
        b.rows.set(e.aggregate_id, revisited=True, **({"rebounded": True} if rebounded else {}))
