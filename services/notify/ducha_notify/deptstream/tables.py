"""Tables of the department outbox projection: each problem's disclosure facts, its facts
events held back until a department may see them, and the outbox of disclosed events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()
facts_table = Table(
    "notify_dept_problems", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("facts", Text, nullable=False),
)
held = Table(  # a problem's facts events, released to a department when it may first see them
    "notify_dept_facts", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("event", Text, nullable=False),
)
outbox = Table(
    "notify_dept_outbox", metadata,
    Column("source_sequence", BigInteger, primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("department", String(64), nullable=False, index=True),
    Column("event_type", String(64), nullable=False),
    Column("msg_id", String(160), nullable=False),
    Column("data", Text, nullable=False),
)
