"""The periodic scan: escalations (missed for longer than the limit), revisits due and the daily
digests become notifications, once per cause (see `reactions.request_notification`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ducha.kernel.calendar import city_time
from ducha.kernel.jobs import periodic
from ducha.kernel.lookup import require_caught_up
from sqlalchemy import select

from ..digest.queries import digest_values
from ..directory.projection import DirectoryProjection
from ..directory.queries import open_problems
from ..directory.tables import problems
from ..runtime import runtime
from .reactions import request_notification

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def scan(kernel: Kernel, now: datetime | None = None, catch_up_seconds: float = 30.0) -> int:
    """Escalations, revisits due and daily digests as of `now` (default: the kernel's clock).
    Returns how many new notifications were requested. Decides on what the whole log says now:
    `NotYetVisible` (503 over HTTP) when the directory has not caught up within `catch_up_seconds`."""
    rt = runtime(kernel)
    now = now or kernel.clock.now()
    await require_caught_up(kernel, "the open problems", (DirectoryProjection.name,), timeout=catch_up_seconds)
    local = city_time(now)
    today = local.date()
    limit = timedelta(hours=rt.settings.escalate_after_hours)

    def candidates() -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        with kernel.engine.connect() as conn:
            for row in open_problems(conn):
                if row["missed_at"] is not None and now - _aware(row["missed_at"]) >= limit:
                    hours = int((now - _aware(row["missed_at"])).total_seconds() // 3600)
                    out.append((f"escalation:{row['id']}:{row['missed_deadline']}", "escalation",
                                {**row, "overdue_hours": hours, "deadline": str(row["missed_deadline"])}))
            due = conn.execute(select(problems).where(
                problems.c.status == "written_off", problems.c.revisited.is_(False),
                problems.c.revisit_due_on <= today)).mappings()
            for revisit in due:
                out.append((f"revisit_due:{revisit['id']}:{revisit['revisit_due_on']}", "revisit_due",
                            {**revisit, "revisit_due_on": str(revisit["revisit_due_on"])}))
            if local.hour >= rt.settings.digest_hour:
                for scope, scope_id, vals in digest_values(conn, today):
                    out.append((f"digest:{scope}:{scope_id}:{today}", f"digest_{scope}", vals))
        return out

    count = 0
    for cause, kind, row in await asyncio.to_thread(candidates):
        if kind.startswith("digest_"):
            scope_id = row["scope_id"]
            count += await request_notification(
                kernel, cause, "digest", recipients_kind=kind, values=row,
                unit_id=scope_id if kind == "digest_unit" else None,
                team_id=scope_id if kind == "digest_team" else None)
        else:
            count += await request_notification(kernel, cause, kind, unit_id=row["unit_id"], problem_id=row["id"],
                                                team_id=row["team_id"], values={"problem_title": row["title"], **row})
    return count


async def _scan_now(kernel: Kernel) -> None:
    await scan(kernel)


# every `scan_interval_seconds`, run by app.py under the "scan" lease (one instance scans)
scan_job = periodic("notify-scan", lambda kernel: runtime(kernel).settings.scan_interval_seconds, _scan_now)
