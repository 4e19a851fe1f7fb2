"""The mirror: a department's events and its 整改台账 (rectification ledger) in its own database
(SQLite or PostgreSQL), exactly once: each event, its ledger change and the consumer's stream
position are written in one transaction, and an event at or below the stored position is skipped
(a redelivery after a crash, a second instance).

Tables (the department may query and join them):
- `ducha_events`: every received event (`stream_sequence`, `event_id`, `event_type`, `aggregate_id`,
  `occurred_at`, `data` = the disclosed JSON as received);
- `ducha_ledger`: one row per problem: facts as fed back, the current deadline, status
  (`status` code and `status_label` in Chinese), overdue, write-off;
- `ducha_position`: per consumer, the last `DUCHA_DEPT` sequence stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ducha_contracts import DisclosedEvent
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)

metadata = MetaData()
position = Table(
    "ducha_position", metadata,
    Column("consumer", String(128), primary_key=True),
    Column("department", String(64), nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Column("last_occurred_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
events = Table(
    "ducha_events", metadata,
    Column("stream_sequence", BigInteger, primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False, index=True),
    Column("aggregate_id", String(64), nullable=False, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
)
ledger = Table(  # 整改台账
    "ducha_ledger", metadata,
    Column("problem_id", String(64), primary_key=True),
    Column("unit_id", String(64)),
    Column("round_id", String(64)),
    Column("title", String(200)),
    Column("description", Text),
    Column("category", String(200)),
    Column("severity", String(16)),
    Column("found_on", Date),
    Column("found_by", String(32)),
    Column("responsible_person", String(200)),
    Column("fed_back_at", DateTime(timezone=True)),
    Column("commit_deadline_by", Date),
    Column("max_deadline", Date),
    Column("deadline", Date),
    Column("status", String(32), nullable=False),
    Column("status_label", String(32), nullable=False),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("submissions", Integer, nullable=False, default=0),
    Column("helpers", Text, nullable=False, default=""),
    Column("ledger_no", Integer),
    Column("written_off_at", DateTime(timezone=True)),
    Column("revisit_due_on", Date),
    Column("last_event_type", String(64), nullable=False),
    Column("last_event_at", DateTime(timezone=True), nullable=False),
    Column("updated_sequence", BigInteger, nullable=False),
)

STATUS_LABELS = {
    "reported": "已上报", "fed_back": "已交办", "rectifying": "整改中", "submitted": "已提交验收",
    "rejected": "验收未通过", "verified": "已验收", "written_off": "已销号", "withdrawn": "已撤回",
}
# event type -> the ledger status it leads to
STATUS_AFTER = {
    "IssueReported": "reported", "IssueFedBack": "fed_back", "DeadlineSet": "rectifying",
    "RectificationSubmitted": "submitted", "RectificationRejected": "rejected", "RectificationReopened": "rectifying",
    "RectificationVerified": "verified", "ProblemWrittenOff": "written_off", "IssueWithdrawn": "withdrawn",
    "IssueMarkedDuplicate": "withdrawn",
}
FACT_FIELDS = ("round_id", "title", "description", "category", "severity", "found_on", "found_by")


@dataclass(frozen=True, slots=True)
class Position:
    consumer: str
    department: str
    last_sequence: int
    last_occurred_at: datetime | None
    updated_at: datetime | None


def engine_for(url: str) -> Engine:
    """SQLAlchemy URL or a bare `postgresql://` one (psycopg 3 is the driver the kit names)."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, future=True)


def ledger_changes(event: DisclosedEvent[Any], row: dict[str, Any] | None) -> dict[str, Any]:
    """The ledger columns this event sets on its problem's row (pure)."""
    p = event.payload
    kind = event.event_type
    out: dict[str, Any] = {}
    if kind in ("IssueReported", "IssueAmended"):
        for name in FACT_FIELDS:
            value = getattr(p, name, None)
            if value is not None:
                out[name] = value.value if hasattr(value, "value") else value
        out["unit_id"] = event.unit_id
    elif kind == "IssueFedBack":
        out.update(responsible_person=p.responsible_person, fed_back_at=p.fed_back_at,
                   commit_deadline_by=p.commit_deadline_by, max_deadline=p.max_deadline)
    elif kind == "DeadlineSet":
        out.update(deadline=p.deadline, overdue=False)
    elif kind == "ExtensionGranted":
        out.update(deadline=p.new_deadline, overdue=False)
    elif kind == "DeadlineMissed":
        out["overdue"] = True
    elif kind == "RectificationSubmitted":
        out["submissions"] = int((row or {}).get("submissions") or 0) + 1
    elif kind == "HelperAssigned":
        helpers = [h for h in str((row or {}).get("helpers") or "").split(",") if h]
        out["helpers"] = ",".join(sorted({*helpers, p.helper_id}))
    elif kind == "ProblemWrittenOff":
        out.update(ledger_no=p.ledger_no, written_off_at=event.occurred_at, revisit_due_on=p.revisit_due_on, overdue=False)
    status = STATUS_AFTER.get(kind)
    # a rectifying row stays "rectifying" on a later DeadlineSet; submitted/verified do not go back
    if (status is not None and not (row and row.get("status") == "withdrawn")
            and not (kind == "DeadlineSet" and row and row.get("status") not in ("reported", "fed_back", "rejected"))):
        out.update(status=status, status_label=STATUS_LABELS[status])
    out.update(last_event_type=kind, last_event_at=event.occurred_at)
    return out


class MirrorSink:
    name = "mirror"

    def __init__(self, engine: Engine, consumer: str, department: str) -> None:
        self.engine = engine
        self.consumer = consumer
        self.department = department

    def create(self) -> None:
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            found = conn.execute(select(position.c.consumer).where(position.c.consumer == self.consumer)).first()
            if found is None:
                conn.execute(insert(position).values(consumer=self.consumer, department=self.department, last_sequence=0))

    def position(self) -> Position:
        with self.engine.connect() as conn:
            row = conn.execute(select(position).where(position.c.consumer == self.consumer)).mappings().first()
        if row is None:
            return Position(self.consumer, self.department, 0, None, None)
        return Position(row["consumer"], row["department"], int(row["last_sequence"]),
                        row["last_occurred_at"], row["updated_at"])

    def store(self, event: DisclosedEvent[Any], data: bytes, stream_sequence: int, now: datetime) -> bool:
        """Store one event at its stream sequence; False if it was stored before (nothing written)."""
        with self.engine.begin() as conn:
            # Moving the position first takes its row lock: a second instance waits, then finds it moved.
            moved = conn.execute(
                update(position).where(position.c.consumer == self.consumer,
                                       position.c.last_sequence < stream_sequence)
                .values(last_sequence=stream_sequence, last_occurred_at=event.occurred_at, updated_at=now)).rowcount
            if not moved:
                return False
            conn.execute(insert(events).values(
                stream_sequence=stream_sequence, event_id=str(event.event_id), event_type=event.event_type,
                aggregate_id=event.aggregate_id, occurred_at=event.occurred_at, data=data.decode("utf-8")))
            if event.aggregate_type == "problem":
                self._ledger(conn, event, stream_sequence)
        return True

    @staticmethod
    def _ledger(conn: Connection, event: DisclosedEvent[Any], stream_sequence: int) -> None:
        found = conn.execute(select(ledger).where(ledger.c.problem_id == event.aggregate_id)).mappings().first()
        row = dict(found) if found is not None else None
        changes = ledger_changes(event, row)
        changes["updated_sequence"] = stream_sequence
        if row is None:
            changes.setdefault("status", "reported")
            changes.setdefault("status_label", STATUS_LABELS[changes["status"]])
            conn.execute(insert(ledger).values(problem_id=event.aggregate_id, overdue=False, submissions=0,
                                               helpers="", **changes))
        else:
            conn.execute(update(ledger).where(ledger.c.problem_id == event.aggregate_id).values(**changes))

    def ledger_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(ledger).order_by(ledger.c.problem_id)).mappings()]

    def stored_events(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(events).order_by(events.c.stream_sequence)).mappings()
            return [{**dict(r), "event": json.loads(r["data"])} for r in rows]
