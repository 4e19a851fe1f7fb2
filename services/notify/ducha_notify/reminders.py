"""Reminders and escalation: upstream events (and a periodic scan) become NotificationRequested
events, once per cause.

Exactly once per cause, across restarts and instances: the notification aggregate's id and the
command id are both derived from the cause (e.g. `DeadlineMissed:<event id>`,
`escalation:<problem>:<deadline>`), so a repeat finds the notification already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from ducha.contracts import SYSTEM_ACTOR, DomainEvent, Envelope
from ducha.contracts.common import LABELS_ZH
from ducha.contracts.notify import NotificationRequested
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext
from ducha.kernel.errors import NotYetVisible
from ducha.kernel.reaction import Reaction
from ducha.kernel.subjects import AggregateKey, event_type_filter
from sqlalchemy import select

from . import directory as d
from . import notifications as n
from . import templates as tpl
from .digest import digest_values, open_problems
from .projections import robot_subscriptions
from .recipients import GROUPS, select_recipients
from .runtime import runtime

log = logging.getLogger("ducha.notify.reminders")

TRIGGERS: dict[str, str] = {
    "IssueFedBack": "feedback_received",
    "DeadlineCommitmentMissed": "deadline_to_set",
    "DeadlineApproaching": "deadline_approaching",
    "DeadlineMissed": "deadline_missed",
    "RectificationVerified": "review_verified",
    "RectificationRejected": "review_rejected",
    "HelperAssigned": "helper_assigned",
}
LABELS = {"good": "好", "fair": "较好", "poor": "一般", **LABELS_ZH}


def notification_key(nid: str) -> AggregateKey:
    return AggregateKey("notify", "notification", nid)


def local_zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - no tz database: China Standard Time has no DST
        from datetime import timezone

        return timezone(timedelta(hours=8))


def payload_values(payload: DomainEvent) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in payload.model_dump().items():
        if isinstance(value, (list, tuple)):
            value = "；".join(str(v) for v in value)
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()[:10]
        values[key] = LABELS.get(str(value), value) if isinstance(value, str) else value
    return values


async def request_notification(kernel: Any, cause: str, kind: str, *, unit_id: str | None = None,
                               team_id: str | None = None, problem_id: str | None = None,
                               helper_id: str | None = None, values: dict[str, Any] | None = None,
                               recipients_kind: str | None = None, causation_id: str | None = None) -> bool:
    """Record the notification for `cause` unless it exists; True if it was new."""
    def build() -> NotificationRequested:
        with kernel.engine.connect() as conn:
            team, vals = team_id, dict(values or {})
            if problem_id:
                row = d.problem(conn, problem_id)
                if row is not None:
                    team = team or row["team_id"]
                    vals.setdefault("problem_title", row["title"])
            vals.setdefault("unit_name", d.unit_name(conn, unit_id))
            vals["recipient_name"] = "{recipient_name}"  # filled in per recipient when sent
            group = recipients_kind or kind
            recipients = select_recipients(conn, group, unit_id, team, helper_id)
            robots = [r["id"] for r in robot_subscriptions(conn, unit_id)] if unit_id and "unit" in GROUPS[group] else []
            subject_t, body_t, version = n.template(conn, kind)
        subject, body = tpl.render(subject_t, body_t, vals)
        return NotificationRequested(cause=cause, kind=kind, unit_id=unit_id, team_id=team, problem_id=problem_id,
                                     subject=subject, body=body, recipients=tuple(recipients),
                                     robot_subscription_ids=tuple(robots), template_version=version)

    payload = await asyncio.to_thread(build)
    ctx = CommandContext(SYSTEM_ACTOR, derived_id("notify-request", cause), causation_id=causation_id)
    result = await kernel.commands.run(notification_key(derived_id("notification", cause)), ctx,
                                       lambda loaded: [] if loaded.events else [payload])
    new = bool(result.events) and not result.replayed
    if new:
        sender = runtime(kernel).sender
        if sender is not None:
            sender.poke()
    return new


class Reminders(Reaction):
    name = "notify_reminders"
    subjects = tuple(event_type_filter(t) for t in TRIGGERS)

    async def react(self, kernel: Any, event: Envelope[DomainEvent]) -> None:
        if not await kernel.wait_for(event.sequence, timeout=5.0):
            raise NotYetVisible("the directory has not caught up yet")
        values = payload_values(event.payload)
        helper = values.get("helper_id") if event.event_type == "HelperAssigned" else None
        await request_notification(
            kernel, f"{event.event_type}:{event.event_id}", TRIGGERS[event.event_type], unit_id=event.unit_id,
            problem_id=event.aggregate_id if event.aggregate_type == "problem" else None, helper_id=helper,
            values=values, causation_id=str(event.event_id))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def scan(kernel: Any, now: datetime | None = None) -> int:
    """Escalations, revisits due and daily digests as of `now` (default: the kernel's clock).
    Returns how many new notifications were requested."""
    rt = runtime(kernel)
    now = now or kernel.clock.now()
    await kernel.runners["notify_directory"].catch_up(timeout=30)
    today = now.astimezone(local_zone(rt.settings.timezone)).date()
    limit = timedelta(hours=rt.settings.escalate_after_hours)

    def candidates() -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        with kernel.engine.connect() as conn:
            for row in open_problems(conn):
                if row["missed_at"] is not None and now - _aware(row["missed_at"]) >= limit:
                    hours = int((now - _aware(row["missed_at"])).total_seconds() // 3600)
                    out.append((f"escalation:{row['id']}:{row['missed_deadline']}", "escalation",
                                {**row, "overdue_hours": hours, "deadline": str(row["missed_deadline"])}))
            due = conn.execute(select(d.problems).where(
                d.problems.c.status == "written_off", d.problems.c.revisited.is_(False),
                d.problems.c.revisit_due_on <= today)).mappings()
            for row in due:
                out.append((f"revisit_due:{row['id']}:{row['revisit_due_on']}", "revisit_due",
                            {**row, "revisit_due_on": str(row["revisit_due_on"])}))
            if now.astimezone(local_zone(rt.settings.timezone)).hour >= rt.settings.digest_hour:
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


async def scan_loop(kernel: Any) -> None:
    while True:
        with contextlib.suppress(Exception):
            await scan(kernel)
        await asyncio.sleep(runtime(kernel).settings.scan_interval_seconds)
