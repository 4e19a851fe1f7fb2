"""Directory commands (office only): units, helper departments, persons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ducha.contracts.base import Role
from ducha.contracts.intake import HelperDepartmentRegistered, PersonRegistered, UnitRegistered, UnitUpdated
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.http import require_role

from ..api.models import HelperIn, PersonIn, UnitIn, UnitUpdateIn
from ..domain import directory as d
from .common import helper_key, load, person_key, unit_key

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel


async def _parent(kernel: Kernel, parent_id: str | None) -> d.UnitState | None:
    return await load(kernel, d.UnitState, unit_key(parent_id)) if parent_id else None


async def register_unit(kernel: Kernel, ctx: CommandContext, body: UnitIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    parent = await _parent(kernel, body.parent_id)
    event = UnitRegistered(**body.model_dump(exclude={"id"}))
    return await kernel.commands.run(
        unit_key(body.id), ctx, lambda agg: d.register_unit(d.UnitState.of(agg), event, parent)
    )


async def update_unit(kernel: Kernel, ctx: CommandContext, unit_id: str, body: UnitUpdateIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    parent = await _parent(kernel, body.parent_id)
    event = UnitUpdated(**body.model_dump())
    return await kernel.commands.run(
        unit_key(unit_id), ctx, lambda agg: d.update_unit(d.UnitState.of(agg), event, parent)
    )


async def register_helper(kernel: Kernel, ctx: CommandContext, body: HelperIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    event = HelperDepartmentRegistered(**body.model_dump(exclude={"id"}))
    return await kernel.commands.run(
        helper_key(body.id), ctx, lambda agg: d.register_helper(d.HelperState.of(agg), event)
    )


async def register_person(kernel: Kernel, ctx: CommandContext, body: PersonIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    org_unit = org_helper = None
    if body.org_id:
        org_unit = await load(kernel, d.UnitState, unit_key(body.org_id))
        org_helper = await load(kernel, d.HelperState, helper_key(body.org_id))
    event = PersonRegistered(**body.model_dump(exclude={"id"}))
    return await kernel.commands.run(
        person_key(body.id), ctx,
        lambda agg: d.register_person(d.PersonState.of(agg), event, org_unit, org_helper),
    )
