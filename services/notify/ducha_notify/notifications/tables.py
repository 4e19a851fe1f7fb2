"""Tables of the notifications projection: templates in force, each notification, its
recipients' inbox entries (read or unread) and its outbox (one row per channel and address)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()
template_table = Table(
    "notify_templates", metadata,
    Column("kind", String(40), primary_key=True), Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False), Column("version", Integer, nullable=False),
    Column("updated_by", String(128), nullable=False), Column("updated_at", DateTime(timezone=True), nullable=False),
)
notifications = Table(
    "notify_notifications", metadata,
    Column("id", String(64), primary_key=True), Column("cause", Text, nullable=False),
    Column("kind", String(40), nullable=False), Column("unit_id", String(64), index=True),
    Column("team_id", String(64)), Column("problem_id", String(64), index=True),
    Column("subject", Text, nullable=False), Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False), Column("sequence", BigInteger, nullable=False),
)
inbox = Table(
    "notify_inbox", metadata,
    Column("notification_id", String(64), primary_key=True), Column("person_id", String(64), primary_key=True),
    Column("read_at", DateTime(timezone=True)),
)
outbox = Table(
    "notify_outbox", metadata,
    Column("notification_id", String(64), primary_key=True), Column("channel", String(16), primary_key=True),
    Column("address", String(320), primary_key=True), Column("person_id", String(64)),
    Column("name", Text, nullable=False), Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False), Column("last_error", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
