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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from ducha.contracts import DomainEvent, Envelope, Role
from ducha.contracts.base import NO_UNIT
from ducha.disclosure import FACTS, PROBLEM_EVENTS, ProblemFacts, Stage, Viewer, decide, fold, public_shape
from ducha.kernel.projection import Projection
from ducha.kernel.subjects import context_filter
from sqlalchemy import (
    Connection,
    select,
)

from .tables import facts_table, held, metadata, outbox


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
