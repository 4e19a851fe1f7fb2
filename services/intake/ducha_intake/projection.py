"""The intake service's read model: SQL tables kept from the intake events.

Statements are built once with `bindparam`; JSON lists are stored as text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ducha.contracts import intake as ev
from ducha.contracts.base import DomainEvent, Envelope
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from sqlalchemy import (
    BigInteger,
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
    func,
    select,
    update,
)

metadata = MetaData()


def _id(name: str = "id", **kw: Any) -> Column[Any]:
    return Column(name, String(64), **kw)


def _seq() -> Column[Any]:
    return Column("last_sequence", BigInteger, nullable=False)


units = Table(
    "intake_units", metadata, _id(primary_key=True), Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False), _id("parent_id"), Column("contact_name", String(200)),
    Column("contact_phone", String(100)), Column("contact_email", String(200)),
    Column("registered_at", DateTime(timezone=True)), _seq(),
)
helpers = Table(
    "intake_helpers", metadata, _id(primary_key=True), Column("name", String(200), nullable=False),
    Column("contact_name", String(200)), Column("contact_phone", String(100)),
    Column("contact_email", String(200)), _seq(),
)
persons = Table(
    "intake_persons", metadata, _id(primary_key=True), Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False), _id("org_id"), Column("title", String(200)),
    Column("phone", String(100)), Column("email", String(200)), _seq(),
)
rounds = Table(
    "intake_rounds", metadata, _id(primary_key=True), Column("number", Integer, nullable=False),
    Column("name", String(200), nullable=False), Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False), Column("focus_areas", Text, nullable=False),
    _id("look_back_of"), Column("deadline_commit_days", Integer), Column("max_rectification_days", Integer),
    Column("severe_max_rectification_days", Integer), Column("yellow_days", Integer),
    Column("revisit_after_days", Integer), Column("status", String(20), nullable=False),
    Column("opened_at", DateTime(timezone=True)), Column("closed_at", DateTime(timezone=True)),
    Column("close_note", Text), _seq(),
)
contents = Table(
    "intake_contents", metadata, _id(primary_key=True), _id("round_id", index=True),
    Column("title", String(200)), Column("description", Text), Column("focus_area", String(200)),
    Column("unit_ids", Text), _id("team_id", index=True), Column("locations", Text),
    Column("status", String(20), nullable=False, index=True), Column("return_reason", Text),
    Column("approval_note", Text), Column("drafted_by", String(128)), _id("drafted_by_team"),
    Column("drafted_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)), _seq(),
)
teams = Table(
    "intake_teams", metadata, _id(primary_key=True), _id("round_id", index=True),
    Column("name", String(200)), _id("leader_id"), Column("leader_name", String(200)),
    Column("member_ids", Text), Column("member_names", Text), Column("formed_at", DateTime(timezone=True)), _seq(),
)
team_units = Table(
    "intake_team_units", metadata, _id("team_id", primary_key=True), _id("unit_id", primary_key=True),
    _id("round_id"),
)
problems = Table(
    "intake_problems", metadata, _id(primary_key=True), _id("unit_id", index=True, nullable=False),
    _id("round_id", index=True), _id("team_id", index=True), _id("content_id"),
    Column("title", String(200)), Column("description", Text), Column("category", String(200), index=True),
    Column("severity", String(20)), Column("location", Text), Column("found_on", Date),
    Column("found_by", String(20)), Column("evidence", Text), Column("publishable", Boolean),
    Column("suggested_deadline_days", Integer), _id("repeat_of"),
    Column("status", String(20), nullable=False, index=True), _id("duplicate_of"), Column("status_reason", Text),
    Column("responsible_person", String(200)), Column("responsible_person_title", String(200)),
    _id("responsible_person_id"), Column("requirements", Text), Column("commit_deadline_by", Date),
    Column("max_deadline", Date), Column("fed_back_at", DateTime(timezone=True)),
    Column("reported_at", DateTime(timezone=True)), Column("reported_by", String(128)),
    Column("amendments", Integer, nullable=False), Column("supervision_no", String(32), index=True), _seq(),
)
suggestions = Table(
    "intake_suggestions", metadata, _id(primary_key=True), _id("round_id", index=True),
    _id("team_id", index=True), Column("title", String(200)), Column("content", Text),
    Column("problem_ids", Text), Column("status", String(20), nullable=False), Column("decision", String(200)),
    Column("note", Text), Column("recorded_at", DateTime(timezone=True)),
    Column("handled_at", DateTime(timezone=True)), _seq(),
)


def _upd(table: Table, **values: Any) -> Any:
    return update(table).where(table.c.id == bindparam("_id")).values(
        last_sequence=bindparam("_seq"), **values
    )


def _b(*names: str) -> dict[str, Any]:
    return {n: bindparam(n) for n in names}


CONTACT = ("contact_name", "contact_phone", "contact_email")
_ins = {t.name: t.insert() for t in (units, helpers, persons, rounds, contents, teams, problems, suggestions)}
_ins_team_unit = team_units.insert()
_unit_update = _upd(units, **_b("name", "kind", "parent_id", *CONTACT))
_round_close = _upd(rounds, **_b("status", "closed_at", "close_note"))
_content_revise = _upd(contents, **_b("title", "description", "focus_area", "unit_ids", "team_id", "locations",
                                      "status", "return_reason", "updated_at"))
_content_status = _upd(contents, **_b("status", "return_reason", "approval_note", "updated_at"))
_AMEND = ("title", "description", "category", "severity", "location", "evidence", "publishable",
          "suggested_deadline_days")
_problem_amend = _upd(problems, amendments=problems.c.amendments + 1,
                      **{n: func.coalesce(bindparam(n), problems.c[n]) for n in _AMEND})
_problem_status = _upd(problems, **_b("status", "status_reason", "duplicate_of"))
_problem_fed_back = _upd(problems, **_b("status", "responsible_person", "responsible_person_title",
                                        "responsible_person_id", "requirements", "commit_deadline_by",
                                        "max_deadline", "fed_back_at"))
_suggestion_handle = _upd(suggestions, **_b("status", "decision", "note", "handled_at"))
_seq_only = {t.name: _upd(t) for t in (teams,)}
_team_round = select(teams.c.round_id).where(teams.c.id == bindparam("_id"))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _evidence(refs: Any) -> str | None:
    return None if refs is None else dumps([r.model_dump() for r in refs])


Handler = Callable[[Connection, Envelope[Any], Any, dict[str, Any]], None]


def _unit_registered(c: Connection, e: Envelope[Any], p: ev.UnitRegistered, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_units"], {"last_sequence": e.sequence, "id": e.aggregate_id, "name": p.name, "kind": p.kind.value,
                                     "parent_id": p.parent_id, "registered_at": e.occurred_at,
                                     **{n: getattr(p, n) for n in CONTACT}})


def _unit_updated(c: Connection, e: Envelope[Any], p: ev.UnitUpdated, k: dict[str, Any]) -> None:
    c.execute(_unit_update, {**k, "name": p.name, "kind": p.kind.value, "parent_id": p.parent_id,
                             **{n: getattr(p, n) for n in CONTACT}})


def _helper(c: Connection, e: Envelope[Any], p: ev.HelperDepartmentRegistered, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_helpers"], {"last_sequence": e.sequence, "id": e.aggregate_id, "name": p.name,
                                       **{n: getattr(p, n) for n in CONTACT}})


def _person(c: Connection, e: Envelope[Any], p: ev.PersonRegistered, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_persons"], {"last_sequence": e.sequence, "id": e.aggregate_id, "name": p.name, "role": p.role.value,
                                       "org_id": p.org_id, "title": p.title, "phone": p.phone, "email": p.email})


def _round_opened(c: Connection, e: Envelope[Any], p: ev.RoundOpened, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_rounds"], {
        "last_sequence": e.sequence, "id": e.aggregate_id, "number": p.number, "name": p.name, "starts_on": p.starts_on,
        "ends_on": p.ends_on, "focus_areas": dumps(list(p.focus_areas)), "look_back_of": p.look_back_of,
        "deadline_commit_days": p.deadline_commit_days, "max_rectification_days": p.max_rectification_days,
        "severe_max_rectification_days": p.severe_max_rectification_days, "yellow_days": p.yellow_days,
        "revisit_after_days": p.revisit_after_days, "status": "open", "opened_at": e.occurred_at,
        "closed_at": None, "close_note": None,
    })


def _round_closed(c: Connection, e: Envelope[Any], p: ev.RoundClosed, k: dict[str, Any]) -> None:
    c.execute(_round_close, {**k, "status": "closed", "closed_at": e.occurred_at, "close_note": p.note})


def _content_fields(p: Any) -> dict[str, Any]:
    return {"title": p.title, "description": p.description, "focus_area": p.focus_area,
            "unit_ids": dumps(list(p.unit_ids)), "team_id": p.team_id, "locations": dumps(list(p.locations))}


def _content_drafted(c: Connection, e: Envelope[Any], p: ev.InspectionContentDrafted, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_contents"], {
        "last_sequence": e.sequence, "id": e.aggregate_id, "round_id": p.round_id, **_content_fields(p), "status": "pending",
        "return_reason": None, "approval_note": None, "drafted_by": e.actor.id,
        "drafted_by_team": e.actor.team_id, "drafted_at": e.occurred_at, "updated_at": e.occurred_at,
    })


def _content_revised(c: Connection, e: Envelope[Any], p: ev.InspectionContentRevised, k: dict[str, Any]) -> None:
    c.execute(_content_revise, {**k, **_content_fields(p), "status": "pending", "return_reason": None,
                                "updated_at": e.occurred_at})


def _content_approved(c: Connection, e: Envelope[Any], p: ev.InspectionContentApproved, k: dict[str, Any]) -> None:
    c.execute(_content_status, {**k, "status": "approved", "return_reason": None, "approval_note": p.note,
                                "updated_at": e.occurred_at})


def _content_returned(c: Connection, e: Envelope[Any], p: ev.InspectionContentReturned, k: dict[str, Any]) -> None:
    c.execute(_content_status, {**k, "status": "returned", "return_reason": p.reason, "approval_note": None,
                                "updated_at": e.occurred_at})


def _team_formed(c: Connection, e: Envelope[Any], p: ev.TeamFormed, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_teams"], {
        "last_sequence": e.sequence, "id": e.aggregate_id, "round_id": p.round_id, "name": p.name, "leader_id": p.leader_id,
        "leader_name": p.leader_name, "member_ids": dumps(list(p.member_ids)),
        "member_names": dumps(list(p.member_names)), "formed_at": e.occurred_at,
    })


def _team_assigned(c: Connection, e: Envelope[Any], p: ev.TeamAssignedToUnits, k: dict[str, Any]) -> None:
    round_id = c.execute(_team_round, k).scalar_one()
    c.execute(_ins_team_unit, [{"team_id": e.aggregate_id, "unit_id": u, "round_id": round_id}
                               for u in p.unit_ids])
    c.execute(_seq_only["intake_teams"], k)


def _issue_reported(c: Connection, e: Envelope[Any], p: ev.IssueReported, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_problems"], {
        "last_sequence": e.sequence, "id": e.aggregate_id, "unit_id": e.unit_id, "round_id": p.round_id, "team_id": p.team_id,
        "content_id": p.content_id, "title": p.title, "description": p.description, "category": p.category,
        "severity": p.severity.value, "location": p.location, "found_on": p.found_on,
        "found_by": p.found_by.value, "evidence": _evidence(p.evidence), "publishable": p.publishable,
        "suggested_deadline_days": p.suggested_deadline_days, "repeat_of": p.repeat_of, "status": "reported",
        "duplicate_of": None, "status_reason": None, "responsible_person": None,
        "responsible_person_title": None, "responsible_person_id": None, "requirements": None,
        "commit_deadline_by": None, "max_deadline": None, "fed_back_at": None,
        "reported_at": e.occurred_at, "reported_by": e.actor.id, "amendments": 0,
        "supervision_no": p.supervision_no or None,
    })


def _issue_amended(c: Connection, e: Envelope[Any], p: ev.IssueAmended, k: dict[str, Any]) -> None:
    c.execute(_problem_amend, {
        **k, "title": p.title, "description": p.description, "category": p.category,
        "severity": p.severity.value if p.severity else None, "location": p.location,
        "evidence": _evidence(p.evidence), "publishable": p.publishable,
        "suggested_deadline_days": p.suggested_deadline_days,
    })


def _issue_withdrawn(c: Connection, e: Envelope[Any], p: ev.IssueWithdrawn, k: dict[str, Any]) -> None:
    c.execute(_problem_status, {**k, "status": "withdrawn", "status_reason": p.reason, "duplicate_of": None})


def _issue_duplicate(c: Connection, e: Envelope[Any], p: ev.IssueMarkedDuplicate, k: dict[str, Any]) -> None:
    c.execute(_problem_status, {**k, "status": "duplicate", "status_reason": p.reason,
                                "duplicate_of": p.duplicate_of})


def _issue_fed_back(c: Connection, e: Envelope[Any], p: ev.IssueFedBack, k: dict[str, Any]) -> None:
    c.execute(_problem_fed_back, {
        **k, "status": "fed_back", "responsible_person": p.responsible_person,
        "responsible_person_title": p.responsible_person_title,
        "responsible_person_id": p.responsible_person_id, "requirements": p.requirements,
        "commit_deadline_by": p.commit_deadline_by, "max_deadline": p.max_deadline, "fed_back_at": p.fed_back_at,
    })


def _suggestion_recorded(c: Connection, e: Envelope[Any], p: ev.SuggestionRecorded, k: dict[str, Any]) -> None:
    c.execute(_ins["intake_suggestions"], {
        "last_sequence": e.sequence, "id": e.aggregate_id, "round_id": p.round_id, "team_id": p.team_id, "title": p.title,
        "content": p.content, "problem_ids": dumps(list(p.problem_ids)), "status": "open", "decision": None,
        "note": None, "recorded_at": e.occurred_at, "handled_at": None,
    })


def _suggestion_handled(c: Connection, e: Envelope[Any], p: ev.SuggestionHandled, k: dict[str, Any]) -> None:
    c.execute(_suggestion_handle, {**k, "status": "handled", "decision": p.decision, "note": p.note,
                                    "handled_at": e.occurred_at})


HANDLERS: dict[str, Handler] = {
    "UnitRegistered": _unit_registered, "UnitUpdated": _unit_updated,
    "HelperDepartmentRegistered": _helper, "PersonRegistered": _person,
    "RoundOpened": _round_opened, "RoundClosed": _round_closed,
    "InspectionContentDrafted": _content_drafted, "InspectionContentRevised": _content_revised,
    "InspectionContentApproved": _content_approved, "InspectionContentReturned": _content_returned,
    "TeamFormed": _team_formed, "TeamAssignedToUnits": _team_assigned,
    "IssueReported": _issue_reported, "IssueAmended": _issue_amended, "IssueWithdrawn": _issue_withdrawn,
    "IssueMarkedDuplicate": _issue_duplicate, "IssueFedBack": _issue_fed_back,
    "SuggestionRecorded": _suggestion_recorded, "SuggestionHandled": _suggestion_handled,
}


class IntakeProjection(Projection):
    name = "intake"
    version = 2  # 2: supervision_no (督办编号)
    subjects = (context_filter("intake"),)
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        handler = HANDLERS.get(event.event_type)
        if handler is None:
            return  # an intake event this read model does not show
        keys = {"_id": event.aggregate_id, "_seq": event.sequence}
        handler(conn, event, event.payload, keys)
