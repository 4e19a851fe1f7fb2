"""Reminders and escalation: upstream events (and a periodic scan) become NotificationRequested
events, once per cause.

Exactly once per cause, across restarts and instances: the notification aggregate's id and the
command id are both derived from the cause (e.g. `DeadlineMissed:<event id>`,
`escalation:<problem>:<deadline>`), so a repeat finds the notification already there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ducha.contracts import SYSTEM_ACTOR, DomainEvent, Envelope
from ducha.contracts.notify import NotificationRequested
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext
from ducha.kernel.errors import NotYetVisible
from ducha.kernel.reaction import Reaction
from ducha.kernel.subjects import event_type_filter

from ..directory.queries import problem, unit_name
from ..runtime import runtime
from ..webhooks.queries import robot_subscriptions
from . import templates as tpl
from .domain import TRIGGERS, notification_key, payload_values
from .queries import template
from .recipients import GROUPS, select_recipients

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

log = logging.getLogger("ducha.notify.reminders")


async def request_notification(kernel: Kernel, cause: str, kind: str, *, unit_id: str | None = None,
                               team_id: str | None = None, problem_id: str | None = None,
                               helper_id: str | None = None, values: dict[str, Any] | None = None,
                               recipients_kind: str | None = None, causation_id: str | None = None) -> bool:
    """Record the notification for `cause` unless it exists; True if it was new."""
    def build() -> NotificationRequested:
        with kernel.engine.connect() as conn:
            team, vals = team_id, dict(values or {})
            if problem_id:
                row = problem(conn, problem_id)
                if row is not None:
                    team = team or row["team_id"]
                    vals.setdefault("problem_title", row["title"])
            vals.setdefault("unit_name", unit_name(conn, unit_id))
            vals["recipient_name"] = "{recipient_name}"  # filled in per recipient when sent
            group = recipients_kind or kind
            recipients = select_recipients(conn, group, unit_id, team, helper_id)
            robots = [r["id"] for r in robot_subscriptions(conn, unit_id)] if unit_id and "unit" in GROUPS[group] else []
            subject_t, body_t, version = template(conn, kind)
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
        runtime(kernel).poke_sender()
    return new


class Reminders(Reaction):
    name = "notify_reminders"
    subjects = tuple(event_type_filter(t) for t in TRIGGERS)

    async def react(self, kernel: Kernel, event: Envelope[DomainEvent]) -> None:
        if not await kernel.wait_for(event.sequence, timeout=5.0):
            raise NotYetVisible("the directory has not caught up yet")
        values = payload_values(event.payload)
        helper = values.get("helper_id") if event.event_type == "HelperAssigned" else None
        await request_notification(
            kernel, f"{event.event_type}:{event.event_id}", TRIGGERS[event.event_type], unit_id=event.unit_id,
            problem_id=event.aggregate_id if event.aggregate_type == "problem" else None, helper_id=helper,
            values=values, causation_id=str(event.event_id))
