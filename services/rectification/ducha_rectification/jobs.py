"""Warnings (红黄绿灯) as events: the periodic scan that turns crossings into events.

Crossing into yellow (DeadlineApproaching), into red (DeadlineMissed) and missing the commitment date
(DeadlineCommitmentMissed) are found by scanning state, not by timers, so a moment that passed while
the service was down is caught at the next scan. Each event's command id is derived from the problem
and the date it concerns, and the decision re-checks the aggregate's own history, so a repeated scan,
a restart or a second instance writes nothing more: once per deadline.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from ducha.contracts import SYSTEM_ACTOR
from ducha.kernel.calendar import city_today
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.jobs import periodic
from ducha.kernel.lookup import read
from ducha.kernel.runtime import Kernel
from ducha.kernel.subjects import AggregateKey
from sqlalchemy import Date, Engine, and_, bindparam, false, or_, select

from .domain.state import ProblemState
from .domain.submission import commitment_missed, deadline_warning
from .read.queries import facts_from_row
from .read.tables import problems
from .settings import settings_of

log = logging.getLogger("ducha.rectification.warnings")

P = problems.c
_TODAY: Any = bindparam("today", type_=Date)
_candidates = select(
    P.problem_id, P.unit_id, P.team_id, P.round_id, P.title, P.severity, P.intake_status, P.fed_back,
    P.commit_deadline_by, P.max_deadline, P.yellow_days, P.max_days, P.severe_max_days, P.written_off_seq,
    P.accepted_seq, P.deadline_commit_days, P.deadline, P.status,
).where(
    P.intake_status == "reported",
    or_(
        and_(
            P.status == "rectifying", P.deadline.is_not(None),
            or_(
                and_(P.deadline < _TODAY, or_(P.red_for.is_(None), P.red_for != P.deadline)),
                and_(P.yellow_from <= _TODAY, P.deadline >= _TODAY,
                     or_(P.yellow_for.is_(None), P.yellow_for != P.deadline)),
            ),
        ),
        and_(P.status == "awaiting_commitment", P.commitment_missed == false(), P.commit_deadline_by < _TODAY),
        # (a reopen that leaves no deadline in force resets commit_deadline_by and commitment_missed)
    ),
).order_by(P.problem_id)


def _scan(engine: Engine, today: date) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(_candidates, {"today": today}))


async def tick(kernel: Kernel) -> list[CommandResult]:
    """One scan: append every warning that is due now. Returns the commands that wrote events."""
    today = city_today(kernel.clock)
    written: list[CommandResult] = []
    for row in await read(_scan, kernel.engine, today):
        facts = facts_from_row(row)
        key = AggregateKey("rectification", "problem", row.problem_id, row.unit_id)
        if row.status == "awaiting_commitment":
            due: date = row.commit_deadline_by
            cid = derived_id("commitment-missed", row.problem_id, due.isoformat())
            decide: Any = lambda loaded, f=facts, d=due: commitment_missed(f, ProblemState.of(loaded), today, d)
        else:
            deadline: date = row.deadline
            kind = "red" if deadline < today else "yellow"
            cid = derived_id(kind, row.problem_id, deadline.isoformat())
            decide = lambda loaded, f=facts, d=deadline: deadline_warning(f, ProblemState.of(loaded), today, d)
        try:
            result = await kernel.commands.run(key, CommandContext(SYSTEM_ACTOR, cid), decide)
        except Exception as exc:  # noqa: BLE001 - one problem must not stop the scan of the others
            log.warning("warning for problem %s not written this time: %r", row.problem_id, exc)
            continue
        if result.events and not result.replayed:
            written.append(result)
    return written




async def _tick(kernel: Kernel) -> None:
    await tick(kernel)


# At start (catching moments missed while down, on a caught-up view), then every interval.
warning_scan = periodic("warning-scan", lambda k: settings_of(k).warning_interval_seconds, _tick,
                        catch_up_first=True)
