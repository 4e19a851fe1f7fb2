"""Reading intake's and verification's facts about one problem from this service's projection, and
waiting briefly when the projection has not caught up yet (commands must never 500 or be lost just
because an upstream event is still on its way)."""

from __future__ import annotations

import asyncio
from typing import Any

from ducha.contracts.common import Severity
from ducha.kernel.errors import NotFound, NotYetVisible
from sqlalchemy import Engine, bindparam, select

from .domain.facts import ProblemFacts
from .tables import helps, problems

P = problems.c
_facts = select(
    P.problem_id, P.unit_id, P.team_id, P.round_id, P.title, P.severity, P.intake_status, P.fed_back,
    P.commit_deadline_by, P.max_deadline, P.yellow_days, P.max_days, P.severe_max_days, P.written_off_seq,
    P.accepted_seq, P.deadline_commit_days,
).where(P.problem_id == bindparam("pid"))
_helpers = select(helps.c.helper_id).where(helps.c.problem_id == bindparam("pid"), helps.c.helper_id.is_not(None))


def facts_from_row(row: Any) -> ProblemFacts:
    return ProblemFacts(
        problem_id=row.problem_id, unit_id=row.unit_id, team_id=row.team_id, round_id=row.round_id,
        title=row.title, severity=Severity(row.severity), intake_status=row.intake_status,
        fed_back=bool(row.fed_back), commit_deadline_by=row.commit_deadline_by, max_deadline=row.max_deadline,
        yellow_days=row.yellow_days, max_rectification_days=row.max_days,
        severe_max_rectification_days=row.severe_max_days, written_off_seq=row.written_off_seq,
        accepted_seq=row.accepted_seq, deadline_commit_days=row.deadline_commit_days,
    )


def read_facts(engine: Engine, problem_id: str) -> ProblemFacts | None:
    with engine.connect() as conn:
        row = conn.execute(_facts, {"pid": problem_id}).first()
    return facts_from_row(row) if row is not None else None


def read_helper_ids(engine: Engine, problem_id: str) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(_helpers, {"pid": problem_id})}


async def require_facts(kernel: Any, problem_id: str, *, fed_back: bool = True) -> ProblemFacts:
    """The problem's facts. If it is unknown (or not yet fed back) here, wait until the projection has
    applied everything in the log now: still unknown then means it does not exist (404, or 409 when not
    fed back); not caught up in time means 503 NotYetVisible, safe to retry."""
    facts = await asyncio.to_thread(read_facts, kernel.engine, problem_id)
    if facts is None or (fed_back and not facts.fed_back):
        last = await kernel.store.last_sequence()
        caught_up = await kernel.wait_for(last)
        facts = await asyncio.to_thread(read_facts, kernel.engine, problem_id)
        if facts is None or (fed_back and not facts.fed_back):
            if not caught_up:
                raise NotYetVisible(
                    f"problem {problem_id} is not yet known to the rectification service; retry shortly"
                )
            if facts is None:
                raise NotFound(f"no problem {problem_id}")
    return facts
