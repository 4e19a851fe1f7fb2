"""Tables of notify's directory projection: who to tell (units, helper departments, persons,
teams and the units they inspect, rounds) and where each problem stands."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text

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
