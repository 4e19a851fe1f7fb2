"""The department outbound stream `DUCHA_DEPT`: what each department may see, and nothing else.

Departments never read the internal log. This projection follows intake, rectification and
verification, decides every event with the disclosure policy (`ducha.disclosure`) for the
department it concerns — the problem's unit (as role `unit`) and every helper department assigned
to it (as role `helper`) — and writes what is disclosed, redacted and in the public contract
shape, to an outbox table in the same transaction as its log position (so exactly once, and a
rebuild writes the same rows). A problem's facts (`IssueReported`, `IssueAmended`) are held back
until `IssueFedBack` releases them to the unit (and until `HelperAssigned` to a helper).

`DeptPublisher` copies the outbox to `ducha.dept.<department>.<EventType>` in outbox order.
Every publish carries `Nats-Msg-Id: <department>:<source event id>` and
`Nats-Expected-Last-Sequence` = the stream's last sequence, so a restart, a retry or a second
notify instance never writes a row twice: the loser of a race gets "wrong last sequence", reads
the stream's last message (its `Ducha-Outbox` header says which row it was) and continues after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import nats.errors
import nats.js.errors
from ducha.contracts import DomainEvent, Envelope, Role
from ducha.contracts.base import NO_UNIT
from ducha.disclosure import FACTS, PROBLEM_EVENTS, ProblemFacts, Stage, Viewer, decide, fold, public_shape
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StorageType, StreamConfig
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("ducha.notify.dept")

DEPT_STREAM = "DUCHA_DEPT"
DEPT_PREFIX = "ducha.dept"
DEFAULT_CONSUMERS = 2  # per department: e.g. production and a test system


def dept_subject(department: str, event_type: str = ">") -> str:
    return f"{DEPT_PREFIX}.{department}.{event_type}"


def consumer_names(department: str, count: int = DEFAULT_CONSUMERS) -> list[str]:
    """The durable consumers the system creates for a department (and only these may it use)."""
    return [f"dept-{department}-{k}" for k in range(1, count + 1)]


def dept_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DEPT_STREAM, subjects=[f"{DEPT_PREFIX}.>"], storage=StorageType.FILE, num_replicas=replicas,
        duplicate_window=120.0, deny_delete=True, deny_purge=True, discard=DiscardPolicy.OLD,
        allow_direct=False,
    )


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


def _dump(facts: ProblemFacts) -> str:
    data = asdict(facts)
    data["stage"] = facts.stage.value
    return json.dumps(data, sort_keys=True)


def _load(text: str) -> ProblemFacts:
    data = json.loads(text)
    data["stage"] = Stage(data["stage"])
    data["helpers"] = {str(k): int(v) for k, v in data["helpers"].items()}
    return ProblemFacts(**data)


class DepartmentOutbox(Projection):
    name = "notify_dept_outbox"
    version = 1
    subjects = (context_filter("intake"), context_filter("rectification"), context_filter("verification"))
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        wire = event.model_dump(mode="json")
        if event.event_type not in PROBLEM_EVENTS:
            unit_id = event.unit_id
            if unit_id and unit_id != NO_UNIT:  # e.g. the unit's own directory entry
                self._emit(conn, event.sequence, [(unit_id, Viewer(Role.UNIT, unit_id=unit_id), wire, event.sequence, None)])
            return
        pid = event.aggregate_id
        row = conn.execute(select(facts_table.c.facts).where(facts_table.c.problem_id == pid)).scalar_one_or_none()
        before = _load(row) if row else None
        facts = fold(before, event.event_type, event.unit_id, pid, wire["payload"], event.sequence)
        if facts is None:
            return
        if row is None:
            conn.execute(facts_table.insert().values(problem_id=pid, facts=_dump(facts)))
        elif facts != before:
            conn.execute(facts_table.update().where(facts_table.c.problem_id == pid).values(facts=_dump(facts)))
        if event.event_type in FACTS:
            conn.execute(held.insert().values(problem_id=pid, sequence=event.sequence, event=json.dumps(wire)))
        items: list[tuple[str, Viewer, dict[str, Any], int, ProblemFacts | None]] = []
        unit = Viewer(Role.UNIT, unit_id=facts.unit_id)
        if event.event_type == "IssueFedBack":  # 交办: the unit learns the problem now
            items += [(facts.unit_id, unit, e, s, facts) for s, e in self._held(conn, pid) if s < event.sequence]
        items.append((facts.unit_id, unit, wire, event.sequence, facts))
        for helper in sorted(facts.helpers):
            viewer = Viewer(Role.HELPER, unit_id=helper)
            newly = event.event_type == "HelperAssigned" and wire["payload"].get("helper_id") == helper
            if newly and (before is None or helper not in before.helpers):
                items += [(helper, viewer, e, s, facts) for s, e in self._held(conn, pid)]
            items.append((helper, viewer, wire, event.sequence, facts))
        self._emit(conn, event.sequence, items)

    @staticmethod
    def _held(conn: Connection, pid: str) -> list[tuple[int, dict[str, Any]]]:
        rows = conn.execute(select(held.c.sequence, held.c.event).where(held.c.problem_id == pid)
                            .order_by(held.c.sequence)).all()
        return [(int(s), json.loads(e)) for s, e in rows]

    @staticmethod
    def _emit(conn: Connection, sequence: int,
              items: Iterable[tuple[str, Viewer, dict[str, Any], int, ProblemFacts | None]]) -> None:
        n = 0
        for department, viewer, wire, source_seq, facts in items:
            decision = decide(viewer, wire["event_type"], facts, event_unit=wire.get("unit_id"),
                              sequence=source_seq, payload=wire.get("payload"))
            if not decision.visible:
                continue
            shaped = public_shape(wire, decision, facts, source_seq)
            conn.execute(outbox.insert().values(
                source_sequence=sequence, n=n, department=department, event_type=wire["event_type"],
                msg_id=f"{department}:{wire['event_id']}", data=json.dumps(shaped, ensure_ascii=False, separators=(",", ":"))))
            n += 1


def outbox_rows(engine: Engine, after: tuple[int, int], limit: int = 256) -> list[Any]:
    s, n = after
    query = (select(outbox).where(or_(outbox.c.source_sequence > s, and_(outbox.c.source_sequence == s, outbox.c.n > n)))
             .order_by(outbox.c.source_sequence, outbox.c.n).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())




async def ensure_dept_stream(js: Any, replicas: int = 1, update: bool = False) -> None:
    """Create the stream if it is missing; with `update`, bring an existing one's settings back to ours."""
    config = dept_stream_config(replicas)
    try:
        await js.stream_info(DEPT_STREAM)
        if not update:
            return
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            pass  # created concurrently by another instance
    await js.update_stream(config)


def consumer_config(department: str, name: str, *, start_sequence: int | None = None,
                    start_time: datetime | None = None) -> ConsumerConfig:
    config = ConsumerConfig(durable_name=name, name=name, filter_subject=dept_subject(department),
                            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0,
                            max_ack_pending=1000, description=f"department {department}")
    if start_sequence is not None:
        config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, max(1, start_sequence)
    elif start_time is not None:
        config.deliver_policy, config.opt_start_time = DeliverPolicy.BY_START_TIME, start_time
    return config


class DeptPublisher:
    """Copies the outbox to DUCHA_DEPT, in order, each row once; creates department consumers."""

    def __init__(self, kernel: Any, consumers_per_department: int = DEFAULT_CONSUMERS, poll: float = 0.2) -> None:
        self.kernel = kernel
        self.count = consumers_per_department
        self.poll = poll
        self.js = kernel.store.js
        self._ensured: set[str] = set()
        self.wake = asyncio.Event()

    async def position(self) -> tuple[int, tuple[int, int]]:
        """(the stream's last sequence, the outbox row it holds)."""
        info = await self.js.stream_info(DEPT_STREAM)
        last = int(info.state.last_seq or 0)
        if last == 0:
            return 0, (0, -1)
        msg = await self.js.get_msg(DEPT_STREAM, seq=last)
        s, _dot, n = (msg.headers or {}).get("Ducha-Outbox", "0.-1").partition(".")
        return last, (int(s), int(n))

    async def publish_pending(self) -> int:
        """Publish every outbox row not yet in the stream; the number published."""
        last, pos = await self.position()
        published = 0
        while True:
            rows = await asyncio.to_thread(outbox_rows, self.kernel.engine, pos)
            if not rows:
                return published
            for row in rows:
                headers = {"Nats-Msg-Id": row["msg_id"], "Nats-Expected-Last-Sequence": str(last),
                           "Ducha-Outbox": f"{row['source_sequence']}.{row['n']}",
                           "Ducha-Source-Sequence": str(row["source_sequence"]),
                           "Ducha-Event-Type": row["event_type"]}
                try:
                    ack = await self.js.publish(dept_subject(row["department"], row["event_type"]),
                                                row["data"].encode(), headers=headers)
                except nats.js.errors.BadRequestError as exc:
                    if exc.err_code == 10071:  # another instance wrote meanwhile: continue after it
                        last, pos = await self.position()
                        break
                    raise
                last, pos = ack.seq, (int(row["source_sequence"]), int(row["n"]))
                published += 1

    async def ensure_consumers(self, departments: Iterable[str]) -> None:
        for department in departments:
            if department in self._ensured:
                continue
            for name in consumer_names(department, self.count):
                try:
                    await self.js.consumer_info(DEPT_STREAM, name)
                except nats.js.errors.NotFoundError:
                    try:
                        await self.js.add_consumer(DEPT_STREAM, consumer_config(department, name))
                    except nats.js.errors.BadRequestError as exc:
                        log.info("consumer %s not created (%s): another instance may have made it", name, exc)
            self._ensured.add(department)

    async def run(self) -> None:
        from .directory import helpers, units

        # as many replicas as the log itself (a 3-node cluster in production)
        await ensure_dept_stream(self.js, self.kernel.settings.stream_replicas, update=True)
        while True:
            try:
                with self.kernel.engine.connect() as conn:
                    departments = [*conn.execute(select(units.c.id)).scalars(),
                                   *conn.execute(select(helpers.c.id)).scalars()]
                await self.ensure_consumers(departments)
                await self.publish_pending()
            except (nats.errors.Error, OSError, SQLAlchemyError) as exc:
                # NATS or the database away for a moment: the outbox keeps everything, try again
                log.warning("department stream: %r; retrying", exc)
                await asyncio.sleep(1.0)
            try:
                async with asyncio.timeout(self.poll):
                    await self.wake.wait()
            except TimeoutError:
                pass
            self.wake.clear()


async def reset_consumer(js: Any, department: str, name: str, *, start_sequence: int | None = None,
                         start_time: datetime | None = None) -> None:
    """Re-create a department's consumer to start at a DUCHA_DEPT sequence or a time."""
    try:
        await js.delete_consumer(DEPT_STREAM, name)
    except nats.js.errors.NotFoundError:
        pass
    await js.add_consumer(DEPT_STREAM, consumer_config(department, name, start_sequence=start_sequence,
                                                       start_time=start_time))
