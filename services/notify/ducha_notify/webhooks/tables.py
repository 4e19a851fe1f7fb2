"""Tables of the webhook subscriptions projection: each subscription, and the state of each
delivery (delivered, retrying, dead)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()
subscriptions = Table(
    "notify_subscriptions", metadata,
    Column("id", String(64), primary_key=True),
    Column("unit_id", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("reminders", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
)
deliveries = Table(
    "notify_webhook_deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("subscription_id", String(64), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("source_sequence", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # delivered / retrying / dead
    Column("status_code", Integer),
    Column("last_error", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
