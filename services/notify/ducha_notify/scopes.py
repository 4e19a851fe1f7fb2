"""Whom a caller may act for: a unit or helper department only for itself, the office (and the
system) for any. Shared by the webhook, department-stream and SSE routes."""

from __future__ import annotations

from ducha.contracts import Actor, Role
from ducha.kernel.errors import Forbidden, InvalidCommand
from ducha.kernel.http import require_role


def unit_scope(actor: Actor, unit_id: str | None) -> str:
    """The unit an actor may act for: a unit only its own, the office any."""
    require_role(actor, Role.UNIT, Role.OFFICE, Role.SYSTEM, doing="follow unit streams")
    if actor.role == Role.UNIT:
        if unit_id not in (None, actor.unit_id):
            raise Forbidden("a unit may only follow its own events")
        assert actor.unit_id is not None
        return actor.unit_id
    if not unit_id:
        raise InvalidCommand("unit_id is required", field="unit_id")
    return unit_id


def department_scope(actor: Actor, department: str) -> str:
    """A department's outbound stream: a unit or helper department only its own, the office any."""
    require_role(actor, Role.UNIT, Role.HELPER, Role.OFFICE, Role.SYSTEM, doing="follow department streams")
    if actor.role in (Role.UNIT, Role.HELPER) and department != actor.unit_id:
        raise Forbidden("a department may only follow its own stream (仅可订阅本单位)")
    return department
