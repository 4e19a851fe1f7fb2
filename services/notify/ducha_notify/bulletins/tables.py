"""Tables of the bulletins projection: drafts and published bulletins, and the problems they made
public."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()
bulletins = Table(
    "notify_bulletins", metadata,
    Column("id", String(64), primary_key=True), Column("round_id", String(64), nullable=False),
    Column("status", String(12), nullable=False), Column("title", Text, nullable=False),
    Column("number", Integer), Column("issued_on", String(10)),
    Column("draft", Text, nullable=False),  # the draft content (JSON)
    Column("published", Text),  # the BulletinPublished payload exactly as stored (JSON)
    Column("sequence", BigInteger, nullable=False),
)
public_problems = Table(
    "notify_public_problems", metadata,
    Column("problem_id", String(64), primary_key=True), Column("bulletin_id", String(64), nullable=False),
    Column("unit_name", Text, nullable=False), Column("title", Text, nullable=False),
    Column("category", Text, nullable=False), Column("status", Text, nullable=False),
    Column("sequence", BigInteger, nullable=False),
)
