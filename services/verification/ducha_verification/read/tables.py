"""Tables of the verification projection (all derived from the log; rebuilt by version bump)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text

from ..domain.counters import COUNTS

metadata = MetaData()


def _id(name: str, **kw: object) -> Column[str]:
    return Column(name, String(64), **kw)  # type: ignore[arg-type]


rounds = Table(
    "ver_rounds", metadata,
    _id("round_id", primary_key=True),
    Column("number", Integer), Column("name", String(200)), Column("revisit_after_days", Integer),
    Column("yellow_days", Integer), Column("commit_days", Integer),
)
teams = Table(
    "ver_teams", metadata,
    _id("team_id", primary_key=True), _id("round_id"), Column("name", String(200)),
    _id("leader_id"), Column("leader_name", String(200)),
)
team_units = Table(
    "ver_team_units", metadata, _id("team_id", primary_key=True), _id("unit_id", primary_key=True),
)
units = Table(
    "ver_units", metadata,
    _id("unit_id", primary_key=True), Column("name", String(200)), Column("kind", String(20)),
)

# One row per problem: facts from intake and rectification, and where verification stands.
# stage: reported -> fed_back -> rectifying -> submitted -> accepted -> written_off -> held;
# a rejection or a rebound goes back to rectifying.
problems = Table(
    "ver_problems", metadata,
    _id("problem_id", primary_key=True),
    _id("unit_id", nullable=False), _id("round_id"), _id("team_id"),
    Column("title", String(200), nullable=False, default=""),
    Column("category", String(200), nullable=False, default=""),
    Column("severity", String(20)),
    Column("publishable", Boolean, nullable=False, default=False),
    Column("excluded", Boolean, nullable=False, default=False),
    Column("stage", String(20), nullable=False, default="reported"),
    Column("reported_at", DateTime(timezone=True)),
    Column("fed_back_at", DateTime(timezone=True)),
    Column("deadline", Date),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("ever_overdue", Boolean, nullable=False, default=False),
    Column("latest_submission_no", Integer, nullable=False, default=0),
    Column("submissions", Integer, nullable=False, default=0),
    Column("submissions_on_time", Integer, nullable=False, default=0),
    Column("proposal_submission_no", Integer),
    Column("proposal_outcome", String(10)),
    _id("proposed_by"),
    Column("accepted_count", Integer, nullable=False, default=0),
    Column("rejection_count", Integer, nullable=False, default=0),
    Column("accepted_at", DateTime(timezone=True)),
    Column("effectiveness", String(10)),
    Column("assessment", Text),
    Column("write_off_count", Integer, nullable=False, default=0),
    Column("ledger_no", Integer),
    Column("written_off_at", DateTime(timezone=True)),
    Column("revisit_due_on", Date),
    Column("rebound_count", Integer, nullable=False, default=0),
    # the light (domain/lights.py), in rectification's terms: its status, the deadline in force,
    # the day it turns yellow, the date a deadline must be committed by
    Column("light_status", String(20), nullable=False, default="reported"),
    Column("light_deadline", Date), Column("light_yellow_from", Date), Column("light_commit_by", Date),
    Column("last_sequence", Integer, nullable=False, default=0),
)
submissions = Table(
    "ver_submissions", metadata,
    _id("problem_id", primary_key=True), Column("submission_no", Integer, primary_key=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("deadline", Date), Column("on_time", Boolean, nullable=False),
    Column("description", Text, nullable=False), Column("evidence", Text, nullable=False),
    Column("outcome", String(10)), Column("effectiveness", String(10)), Column("assessment", Text),
    Column("reasons", Text), _id("reviewed_by"), _id("proposed_by"),
    Column("reviewed_at", DateTime(timezone=True)),
)
ledger = Table(
    "ver_ledger", metadata,
    _id("round_id", primary_key=True), Column("ledger_no", Integer, primary_key=True),
    _id("problem_id", nullable=False), _id("unit_id", nullable=False),
    Column("submission_no", Integer),
    Column("written_off_at", DateTime(timezone=True)),
    _id("written_off_by"),
    Column("revisit_due_on", Date),
    Column("revisit_outcome", String(12)), Column("revisited_on", Date), Column("revisit_findings", Text),
)
spotchecks = Table(
    "ver_spotchecks", metadata,
    _id("spotcheck_id", primary_key=True), _id("round_id", nullable=False),
    Column("population", String(20), nullable=False), Column("seed", String(24), nullable=False),
    Column("sample_size", Integer, nullable=False), Column("population_ids", Text, nullable=False),
    Column("drawn_at", DateTime(timezone=True), nullable=False), _id("drawn_by"),
    Column("sequence", Integer, nullable=False),
)
spotcheck_items = Table(
    "ver_spotcheck_items", metadata,
    _id("spotcheck_id", primary_key=True), _id("problem_id", primary_key=True),
    Column("position", Integer, nullable=False), _id("unit_id"),
    Column("confirmed", Boolean), Column("findings", Text), Column("recorded_at", DateTime(timezone=True)),
)
recheck_items = Table(
    "ver_recheck_items", metadata,
    _id("recheck_id", primary_key=True), _id("problem_id", primary_key=True),
    _id("round_id", nullable=False), Column("subject", String(200), nullable=False),
    _id("unit_id"), _id("team_id"),
    Column("status", String(12), nullable=False), Column("detail", Text, nullable=False),
    Column("means", Text, nullable=False), Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("sequence", Integer, nullable=False),
)
decisions = Table(
    "ver_decisions", metadata,
    _id("decision_id", primary_key=True), Column("kind", String(20), nullable=False),
    _id("problem_id"), _id("unit_id", nullable=False), _id("round_id"), _id("team_id"),
    Column("person_name", String(200), nullable=False), Column("basis", Text, nullable=False),
    Column("decision", Text, nullable=False), Column("decided_at", DateTime(timezone=True), nullable=False),
    _id("decided_by"), Column("sequence", Integer, nullable=False),
)

# Statistics kept by the projection (domain/counters.py): the problems' counts per group, and the
# open problems per group and light dates. Rows exist only while they count something.
def _group() -> tuple[Column[Any], ...]:
    return (_id("round_id", primary_key=True), _id("team_id", primary_key=True), _id("unit_id", primary_key=True),
            Column("disclosed", Boolean, primary_key=True))


stat_counts = Table(
    "ver_stat_counts", metadata, *_group(),
    *(Column(c, Integer, nullable=False) for c in COUNTS), Column("days_us", BigInteger, nullable=False),
    Column("days_n", Integer, nullable=False),
)
stat_lights = Table(
    "ver_stat_lights", metadata, *_group(),
    Column("due_on", Date, primary_key=True), Column("yellow_from", Date, primary_key=True),
    Column("n", Integer, nullable=False),
)


def as_utc(moment: datetime) -> datetime:
    """Stored times are UTC (SQLite keeps no offset): a naive time read back is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
