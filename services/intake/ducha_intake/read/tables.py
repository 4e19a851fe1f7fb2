"""The intake service's read model: its SQL tables (kept by `projection.py`, read by `queries.py`).

JSON lists are stored as text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
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
    Index("ix_intake_problems_reported", "reported_at", "id"),  # the list's order (keyset paging)
)
suggestions = Table(
    "intake_suggestions", metadata, _id(primary_key=True), _id("round_id", index=True),
    _id("team_id", index=True), Column("title", String(200)), Column("content", Text),
    Column("problem_ids", Text), Column("status", String(20), nullable=False), Column("decision", String(200)),
    Column("note", Text), Column("recorded_at", DateTime(timezone=True)),
    Column("handled_at", DateTime(timezone=True)), _seq(),
)


