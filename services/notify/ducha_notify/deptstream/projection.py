"""The department outbox projection: what each department may see of the internal log, and
nothing else.

It follows intake, rectification and verification, decides every event with the disclosure policy
(`ducha.disclosure`) for the department it concerns — the problem's unit (as role `unit`) and
every helper department assigned to it (as role `helper`) — and writes what is disclosed, redacted
and in the public contract shape, to the outbox table (`tables.outbox`) in the same transaction as
its log position (so exactly once, and a rebuild writes the same rows). A problem's facts
(`IssueReported`, `IssueAmended`) are held back until `IssueFedBack` releases them to the unit
(and until `HelperAssigned` to a helper). `publisher.DeptPublisher` copies the outbox to the
stream.

Set-based (replay speed): a batch's problem facts and held events are read in one query each, the
events decided in memory, and facts, held events and outbox rows written with one prebuilt
statement each over the whole batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from ducha.contracts import DomainEvent, Envelope, Role
from ducha.contracts.base import NO_UNIT
from ducha.disclosure import FACTS, PROBLEM_EVENTS, ProblemFacts, Stage, Viewer, decide, fold, public_shape
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from sqlalchemy import Connection, bindparam, select, update

from ..batching import chunks
from .tables import facts_table, held, metadata, outbox

Item = tuple[str, Viewer, dict[str, Any], int, ProblemFacts | None]
_insert_facts = facts_table.insert()
_update_facts = update(facts_table).where(facts_table.c.problem_id == bindparam("pid")).values(
    facts=bindparam("facts"))
_insert_held = held.insert()
_insert_outbox = outbox.insert()


_FACT_FIELDS = tuple(f.name for f in fields(ProblemFacts))


def _dump(facts: ProblemFacts) -> str:
    # What dataclasses.asdict gives for these flat fields, without its recursive deep copy (a
    # tenth of this projection's replay).
    data = {name: getattr(facts, name) for name in _FACT_FIELDS}
    data["stage"] = facts.stage.value
    data["helpers"] = dict(facts.helpers)
    return json.dumps(data, sort_keys=True)


def _load(text: str) -> ProblemFacts:
    data = json.loads(text)
    data["stage"] = Stage(data["stage"])
    data["helpers"] = {str(k): int(v) for k, v in data["helpers"].items()}
    return ProblemFacts(**data)


class Batch:
    """One batch's problem facts and held events in memory, and the rows it will write."""

    def __init__(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        self.conn = conn
        pids = sorted({e.aggregate_id for e in events if e.event_type in PROBLEM_EVENTS})
        releasing = sorted({e.aggregate_id for e in events if e.event_type in ("IssueFedBack", "HelperAssigned")})
        self.stored: dict[str, str] = {}  # problem -> facts as stored
        for part in chunks(pids):
            rows = conn.execute(select(facts_table.c.problem_id, facts_table.c.facts)
                                .where(facts_table.c.problem_id.in_(part)))
            self.stored.update((str(pid), str(text)) for pid, text in rows)
        self.facts: dict[str, ProblemFacts] = {pid: _load(text) for pid, text in self.stored.items()}
        self.held: dict[str, list[tuple[int, dict[str, Any]]]] = {pid: [] for pid in releasing}
        for part in chunks(releasing):
            found = conn.execute(select(held.c.problem_id, held.c.sequence, held.c.event)
                                 .where(held.c.problem_id.in_(part)).order_by(held.c.problem_id, held.c.sequence))
            for pid, seq, text in found:
                self.held[pid].append((int(seq), json.loads(text)))
        self.new_held: list[dict[str, Any]] = []
        self.out: list[dict[str, Any]] = []

    def hold(self, pid: str, sequence: int, wire: dict[str, Any]) -> None:
        self.new_held.append({"problem_id": pid, "sequence": sequence, "event": json.dumps(wire)})
        if pid in self.held:
            self.held[pid].append((sequence, wire))

    def emit(self, sequence: int, items: list[Item]) -> None:
        n = 0
        for department, viewer, wire, source_seq, facts in items:
            decision = decide(viewer, wire["event_type"], facts, event_unit=wire.get("unit_id"),
                              sequence=source_seq, payload=wire.get("payload"))
            if not decision.visible:
                continue
            shaped = public_shape(wire, decision, facts, source_seq)
            self.out.append({"source_sequence": sequence, "n": n, "department": department,
                             "event_type": wire["event_type"], "msg_id": f"{department}:{wire['event_id']}",
                             "data": json.dumps(shaped, ensure_ascii=False, separators=(",", ":"))})
            n += 1

    def flush(self) -> None:
        inserts, updates = [], []
        for pid, facts in self.facts.items():
            text = _dump(facts)
            before = self.stored.get(pid)
            if before is None:
                inserts.append({"problem_id": pid, "facts": text})
            elif text != before:
                updates.append({"pid": pid, "facts": text})
        for stmt, rows in ((_insert_facts, inserts), (_update_facts, updates), (_insert_held, self.new_held),
                           (_insert_outbox, self.out)):
            if rows:
                self.conn.execute(stmt, rows)


class DepartmentOutbox(Projection):
    name = "notify_dept_outbox"
    version = 1
    subjects = (context_filter("intake"), context_filter("rectification"), context_filter("verification"))
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Sequence[Envelope[DomainEvent]]) -> None:
        batch = Batch(conn, events)
        for event in events:
            self._decide(batch, event)
        batch.flush()

    @staticmethod
    def _decide(batch: Batch, event: Envelope[DomainEvent]) -> None:
        wire = event.model_dump(mode="json")
        if event.event_type not in PROBLEM_EVENTS:
            unit_id = event.unit_id
            if unit_id and unit_id != NO_UNIT:  # e.g. the unit's own directory entry
                batch.emit(event.sequence, [(unit_id, Viewer(Role.UNIT, unit_id=unit_id), wire, event.sequence, None)])
            return
        pid = event.aggregate_id
        before = batch.facts.get(pid)
        facts = fold(before, event.event_type, event.unit_id, pid, wire["payload"], event.sequence)
        if facts is None:
            return
        batch.facts[pid] = facts
        if event.event_type in FACTS:
            batch.hold(pid, event.sequence, wire)
        items: list[Item] = []
        unit = Viewer(Role.UNIT, unit_id=facts.unit_id)
        if event.event_type == "IssueFedBack":  # 交办: the unit learns the problem now
            items += [(facts.unit_id, unit, e, s, facts) for s, e in batch.held[pid] if s < event.sequence]
        items.append((facts.unit_id, unit, wire, event.sequence, facts))
        for helper in sorted(facts.helpers):
            viewer = Viewer(Role.HELPER, unit_id=helper)
            newly = event.event_type == "HelperAssigned" and wire["payload"].get("helper_id") == helper
            if newly and (before is None or helper not in before.helpers):
                items += [(helper, viewer, e, s, facts) for s, e in batch.held[pid]]
            items.append((helper, viewer, wire, event.sequence, facts))
        batch.emit(event.sequence, items)
