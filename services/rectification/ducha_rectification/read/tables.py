"""The rectification projection's tables (SQLAlchemy Core). Derived data: bump
`RectificationProjection.version` after changing them and the kernel rebuilds from the log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

rounds = Table(
    "rect_rounds", metadata,
    Column("round_id", String(64), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("yellow_days", Integer, nullable=False),
    Column("max_days", Integer, nullable=False),
    Column("severe_max_days", Integer, nullable=False),
    Column("commit_days", Integer, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
)

teams = Table(
    "rect_teams", metadata,
    Column("team_id", String(64), primary_key=True),
    Column("round_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("leader_id", String(64), nullable=False),
    Column("leader_name", String(200), nullable=False),
)

units = Table(
    "rect_units", metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)

# One row per problem: intake's facts plus the rectification ledger columns (整改台账).
problems = Table(
    "rect_problems", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False),
    Column("round_id", String(64), nullable=False),
    Column("team_id", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("supervision_no", String(32)),  # 督办编号 (IssueReported v2); null for older problems
    Column("category", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("publishable", Boolean, nullable=False),
    Column("intake_status", String(16), nullable=False),  # reported | withdrawn | duplicate
    Column("fed_back", Boolean, nullable=False),
    Column("responsible_person", String(200)),
    Column("responsible_person_title", String(200)),
    Column("requirements", Text),
    Column("commit_deadline_by", Date),
    Column("max_deadline", Date),
    Column("fed_back_at", DateTime(timezone=True)),
    # The round's policy, copied when reported (a round's policy does not change once opened).
    Column("yellow_days", Integer, nullable=False),
    Column("max_days", Integer, nullable=False),
    Column("severe_max_days", Integer, nullable=False),
    Column("deadline_commit_days", Integer, nullable=False),
    # Ledger status: reported | awaiting_commitment | rectifying | submitted | accepted | written_off
    # | withdrawn | duplicate
    Column("status", String(24), nullable=False),
    Column("deadline", Date),
    Column("yellow_from", Date),  # deadline - yellow_days: lets SQL compute the light with plain compares
    Column("plan", Text),
    Column("progress", Integer, nullable=False, default=0),
    Column("last_progress_at", DateTime(timezone=True)),
    Column("submission_no", Integer, nullable=False, default=0),
    Column("submitted_at", DateTime(timezone=True)),
    Column("deadline_changes", Integer, nullable=False, default=0),
    Column("postponements", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("rebound_count", Integer, nullable=False, default=0),
    Column("last_reopen_cause", String(16)),
    Column("last_rejection_reasons", JSON),
    Column("yellow_for", Date),  # deadline of the last DeadlineApproaching
    Column("red_for", Date),  # deadline of the last DeadlineMissed
    Column("commitment_missed", Boolean, nullable=False, default=False),
    Column("pending_extension_id", String(64)),
    Column("open_reminders", Integer, nullable=False, default=0),
    Column("dispatch_count", Integer, nullable=False, default=0),
    Column("last_dispatch_on", Date),
    Column("accepted_seq", BigInteger),
    Column("written_off_seq", BigInteger),
    Column("last_reopen_seq", BigInteger, nullable=False, default=0),
    Column("reopened_on", Date),  # city day of the last reopen
    # Event id of the verification event (rejection, rebound) that reopened the row, until the
    # reaction's RectificationReopened for it arrives (which then changes nothing more).
    Column("reopen_source", String(64)),
    Column("ledger_no", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_rect_problems_unit", problems.c.unit_id, problems.c.status)
Index("ix_rect_problems_team", problems.c.team_id, problems.c.status)
Index("ix_rect_problems_deadline", problems.c.status, problems.c.deadline)

extensions = Table(
    "rect_extensions", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("problem_id", String(64), nullable=False, index=True),
    Column("requested_deadline", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | granted | refused
    Column("new_deadline", Date),
    Column("decision_note", Text),
    Column("decided_at", DateTime(timezone=True)),
)

reminders = Table(
    "rect_reminders", metadata,
    Column("reminder_id", String(64), primary_key=True),
    Column("problem_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("issued_by", String(200), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("note", Text),
)

helps = Table(
    "rect_helps", metadata,
    Column("help_id", String(64), primary_key=True),
    Column("problem_id", String(64), nullable=False, index=True),
    Column("unit_id", String(64), nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("helper_id", String(64), index=True),
    Column("helper_name", String(200)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("reports", Integer, nullable=False, default=0),
    Column("last_report", Text),
)

# Every rectification and verification event of a problem, for its history view.
timeline = Table(
    "rect_timeline", metadata,
    Column("sequence", BigInteger, primary_key=True),
    Column("problem_id", String(64), nullable=False, index=True),
    Column("context", String(32), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_name", String(128), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("data", JSON, nullable=False),
)
