"""The intake projection: the tables of `tables.py` kept from the intake events, set-based.

A batch of events is folded in memory (`Rows`) into the final state of every row it touches: the
rows it creates and the existing rows it changes, read first with one query per table
(`WHERE id IN (...)`, only for aggregates that began before the batch). It is then written with one INSERT and one UPDATE per table, each executed
once for all its rows (prebuilt statements, `ducha.kernel.fastsql`). Live, a batch is usually one
event and the same code applies it, so a replay equals the live tables. Nothing queries per event.

Dispatch is the kernel's (`@Projection.handles`); each handler records what its event does to the
rows of the batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ducha.contracts import intake as ev
from ducha.contracts.base import DomainEvent, Envelope
from ducha.kernel.batched import BatchedProjection
from ducha.kernel.projection import Projection, ProjectionError
from ducha.kernel.subjects import context_filter
from sqlalchemy import Connection, Table, bindparam, select, update

from .tables import (
    contents,
    helpers,
    metadata,
    persons,
    problems,
    rounds,
    suggestions,
    team_units,
    teams,
    units,
)

Row = dict[str, Any]
Event = Envelope[Any]
CONTACT = ("contact_name", "contact_phone", "contact_email")
TABLES = (units, helpers, persons, rounds, contents, teams, problems, suggestions)
# The table holding each aggregate type's rows (by id): what a batch reads before it applies.
TABLE_OF = {"unit": units, "helper": helpers, "person": persons, "round": rounds, "content": contents,
            "team": teams, "problem": problems, "suggestion": suggestions}
_EMPTY = {t.name: {c.name: None for c in t.c} for t in TABLES}
_INSERT = {t.name: t.insert() for t in TABLES}
_UPDATE = {t.name: update(t).where(t.c.id == bindparam("_id")).values(
    {c.name: bindparam(c.name) for c in t.c if c.name != "id"}) for t in TABLES}
_insert_team_unit = team_units.insert()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _evidence(refs: Any) -> str | None:
    return None if refs is None else dumps([r.model_dump() for r in refs])


def _contact(p: Any) -> Row:
    return {n: getattr(p, n) for n in CONTACT}


def _content_fields(p: Any) -> Row:
    return {"title": p.title, "description": p.description, "focus_area": p.focus_area,
            "unit_ids": dumps(list(p.unit_ids)), "team_id": p.team_id, "locations": dumps(list(p.locations))}


class Rows:
    """The rows one batch touches, folded in memory; `write()` stores them."""

    def __init__(self, conn: Connection, events: Sequence[Event]) -> None:
        self.conn = conn
        self.new: dict[str, dict[str, Row]] = {t.name: {} for t in TABLES}
        self.existing: dict[str, dict[str, Row]] = {t.name: {} for t in TABLES}
        self.team_units: list[Row] = []
        wanted: dict[str, set[str]] = {}
        first: set[tuple[str, str]] = set()  # aggregates that begin in this batch: no row before it
        for e in events:
            table = TABLE_OF.get(e.aggregate_type)
            if table is None:
                continue
            if e.aggregate_version == 1:
                first.add((table.name, e.aggregate_id))
            elif (table.name, e.aggregate_id) not in first:
                wanted.setdefault(table.name, set()).add(e.aggregate_id)
        for table in TABLES:
            ids = wanted.get(table.name)
            if ids:
                found = conn.execute(select(table).where(table.c.id.in_(sorted(ids))))
                self.existing[table.name] = {row._mapping["id"]: dict(row._mapping) for row in found}

    def row(self, table: Table, ident: str) -> Row | None:
        return self.new[table.name].get(ident) or self.existing[table.name].get(ident)

    def insert(self, table: Table, e: Event, values: Row) -> None:
        if self.row(table, e.aggregate_id) is not None:
            raise ProjectionError(f"{table.name} {e.aggregate_id} exists already")
        self.new[table.name][e.aggregate_id] = {**_EMPTY[table.name], **values, "id": e.aggregate_id,
                                                "last_sequence": e.sequence}

    def change(self, table: Table, e: Event, values: Row) -> None:
        """Like an UPDATE by id: nothing when there is no such row."""
        row = self.row(table, e.aggregate_id)
        if row is not None:
            row.update(values, last_sequence=e.sequence)

    def flush(self) -> None:
        for table in TABLES:
            fresh = list(self.new[table.name].values())
            if fresh:
                self.conn.execute(_INSERT[table.name], fresh)
            changed = [{**{k: v for k, v in row.items() if k != "id"}, "_id": row["id"]}
                       for row in self.existing[table.name].values()]
            if changed:
                self.conn.execute(_UPDATE[table.name], changed)
        if self.team_units:
            self.conn.execute(_insert_team_unit, self.team_units)


class IntakeProjection(BatchedProjection[Rows]):
    name = "intake"
    version = 3  # 2: supervision_no (督办编号); 3: index of the problem list's order
    subjects = (context_filter("intake"),)
    metadata = metadata

    def begin(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> Rows:
        return Rows(conn, events)

    # ------------------------------------------------------ directory
    @Projection.handles(ev.UnitRegistered)
    def _unit(self, rows: Rows, e: Event) -> None:
        p: ev.UnitRegistered = e.payload
        rows.insert(units, e, {"name": p.name, "kind": p.kind.value, "parent_id": p.parent_id,
                               "registered_at": e.occurred_at, **_contact(p)})

    @Projection.handles(ev.UnitUpdated)
    def _unit_updated(self, rows: Rows, e: Event) -> None:
        p: ev.UnitUpdated = e.payload
        rows.change(units, e, {"name": p.name, "kind": p.kind.value, "parent_id": p.parent_id, **_contact(p)})

    @Projection.handles(ev.HelperDepartmentRegistered)
    def _helper(self, rows: Rows, e: Event) -> None:
        rows.insert(helpers, e, {"name": e.payload.name, **_contact(e.payload)})

    @Projection.handles(ev.PersonRegistered)
    def _person(self, rows: Rows, e: Event) -> None:
        p: ev.PersonRegistered = e.payload
        rows.insert(persons, e, {"name": p.name, "role": p.role.value, "org_id": p.org_id, "title": p.title,
                                 "phone": p.phone, "email": p.email})

    # --------------------------------------------------------- rounds
    @Projection.handles(ev.RoundOpened)
    def _round(self, rows: Rows, e: Event) -> None:
        p: ev.RoundOpened = e.payload
        rows.insert(rounds, e, {
            "number": p.number, "name": p.name, "starts_on": p.starts_on, "ends_on": p.ends_on,
            "focus_areas": dumps(list(p.focus_areas)), "look_back_of": p.look_back_of,
            "deadline_commit_days": p.deadline_commit_days, "max_rectification_days": p.max_rectification_days,
            "severe_max_rectification_days": p.severe_max_rectification_days, "yellow_days": p.yellow_days,
            "revisit_after_days": p.revisit_after_days, "status": "open", "opened_at": e.occurred_at})

    @Projection.handles(ev.RoundClosed)
    def _round_closed(self, rows: Rows, e: Event) -> None:
        rows.change(rounds, e, {"status": "closed", "closed_at": e.occurred_at, "close_note": e.payload.note})

    # ------------------------------------------------------- contents
    @Projection.handles(ev.InspectionContentDrafted)
    def _content(self, rows: Rows, e: Event) -> None:
        rows.insert(contents, e, {
            "round_id": e.payload.round_id, **_content_fields(e.payload), "status": "pending",
            "drafted_by": e.actor.id, "drafted_by_team": e.actor.team_id, "drafted_at": e.occurred_at,
            "updated_at": e.occurred_at})

    @Projection.handles(ev.InspectionContentRevised)
    def _content_revised(self, rows: Rows, e: Event) -> None:
        rows.change(contents, e, {**_content_fields(e.payload), "status": "pending", "return_reason": None,
                                  "updated_at": e.occurred_at})

    @Projection.handles(ev.InspectionContentApproved)
    def _content_approved(self, rows: Rows, e: Event) -> None:
        rows.change(contents, e, {"status": "approved", "return_reason": None, "approval_note": e.payload.note,
                                  "updated_at": e.occurred_at})

    @Projection.handles(ev.InspectionContentReturned)
    def _content_returned(self, rows: Rows, e: Event) -> None:
        rows.change(contents, e, {"status": "returned", "return_reason": e.payload.reason, "approval_note": None,
                                  "updated_at": e.occurred_at})

    # ---------------------------------------------------------- teams
    @Projection.handles(ev.TeamFormed)
    def _team(self, rows: Rows, e: Event) -> None:
        p: ev.TeamFormed = e.payload
        rows.insert(teams, e, {
            "round_id": p.round_id, "name": p.name, "leader_id": p.leader_id, "leader_name": p.leader_name,
            "member_ids": dumps(list(p.member_ids)), "member_names": dumps(list(p.member_names)),
            "formed_at": e.occurred_at})

    @Projection.handles(ev.TeamAssignedToUnits)
    def _team_assigned(self, rows: Rows, e: Event) -> None:
        team = rows.row(teams, e.aggregate_id)
        if team is None:
            raise ProjectionError(f"team {e.aggregate_id} is not known")
        rows.team_units.extend({"team_id": e.aggregate_id, "unit_id": u, "round_id": team["round_id"]}
                               for u in e.payload.unit_ids)
        rows.change(teams, e, {})

    # ------------------------------------------------------- problems
    @Projection.handles(ev.IssueReported)
    def _reported(self, rows: Rows, e: Event) -> None:
        p: ev.IssueReported = e.payload
        rows.insert(problems, e, {
            "unit_id": e.unit_id, "round_id": p.round_id, "team_id": p.team_id, "content_id": p.content_id,
            "title": p.title, "description": p.description, "category": p.category,
            "severity": p.severity.value, "location": p.location, "found_on": p.found_on,
            "found_by": p.found_by.value, "evidence": _evidence(p.evidence), "publishable": p.publishable,
            "suggested_deadline_days": p.suggested_deadline_days, "repeat_of": p.repeat_of,
            "status": "reported", "reported_at": e.occurred_at, "reported_by": e.actor.id, "amendments": 0,
            "supervision_no": p.supervision_no or None})

    @Projection.handles(ev.IssueAmended)
    def _amended(self, rows: Rows, e: Event) -> None:
        p: ev.IssueAmended = e.payload
        row = rows.row(problems, e.aggregate_id)
        if row is None:
            return
        given = {"title": p.title, "description": p.description, "category": p.category,
                 "severity": p.severity.value if p.severity else None, "location": p.location,
                 "evidence": _evidence(p.evidence), "publishable": p.publishable,
                 "suggested_deadline_days": p.suggested_deadline_days}
        rows.change(problems, e, {**{k: v for k, v in given.items() if v is not None},
                                  "amendments": (row["amendments"] or 0) + 1})

    @Projection.handles(ev.IssueWithdrawn)
    def _withdrawn(self, rows: Rows, e: Event) -> None:
        rows.change(problems, e, {"status": "withdrawn", "status_reason": e.payload.reason, "duplicate_of": None})

    @Projection.handles(ev.IssueMarkedDuplicate)
    def _duplicate(self, rows: Rows, e: Event) -> None:
        rows.change(problems, e, {"status": "duplicate", "status_reason": e.payload.reason,
                                  "duplicate_of": e.payload.duplicate_of})

    @Projection.handles(ev.IssueFedBack)
    def _fed_back(self, rows: Rows, e: Event) -> None:
        p: ev.IssueFedBack = e.payload
        rows.change(problems, e, {
            "status": "fed_back", "responsible_person": p.responsible_person,
            "responsible_person_title": p.responsible_person_title,
            "responsible_person_id": p.responsible_person_id, "requirements": p.requirements,
            "commit_deadline_by": p.commit_deadline_by, "max_deadline": p.max_deadline,
            "fed_back_at": p.fed_back_at})

    # ---------------------------------------------------- suggestions
    @Projection.handles(ev.SuggestionRecorded)
    def _suggestion(self, rows: Rows, e: Event) -> None:
        p: ev.SuggestionRecorded = e.payload
        rows.insert(suggestions, e, {
            "round_id": p.round_id, "team_id": p.team_id, "title": p.title, "content": p.content,
            "problem_ids": dumps(list(p.problem_ids)), "status": "open", "recorded_at": e.occurred_at})

    @Projection.handles(ev.SuggestionHandled)
    def _suggestion_handled(self, rows: Rows, e: Event) -> None:
        rows.change(suggestions, e, {"status": "handled", "decision": e.payload.decision, "note": e.payload.note,
                                     "handled_at": e.occurred_at})
