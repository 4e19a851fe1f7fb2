"""Planning commands: rounds, inspection content, teams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ducha.contracts.base import Role
from ducha.contracts.intake import InspectionContentDrafted, InspectionContentRevised, RoundOpened
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.http import require_role

from ..api.models import AssignIn, ContentIn, ContentRevisionIn, RoundIn, TeamIn
from ..domain import content as c
from ..domain import rounds as r
from ..domain import teams as t
from ..domain.directory import PersonState
from .common import content_key, known_units, load, person_key, round_key, team_key

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel


# ---------------------------------------------------------------- rounds
async def open_round(kernel: Kernel, ctx: CommandContext, body: RoundIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    earlier = await load(kernel, r.RoundState, round_key(body.look_back_of)) if body.look_back_of else None
    event = RoundOpened(**body.model_dump())
    key = round_key(derived_id("round", ctx.command_id))
    return await kernel.commands.run(key, ctx, lambda agg: r.open_round(r.RoundState.of(agg), event, earlier))


async def close_round(kernel: Kernel, ctx: CommandContext, round_id: str, note: str) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    return await kernel.commands.run(
        round_key(round_id), ctx, lambda agg: r.close_round(r.RoundState.of(agg), note)
    )


# ------------------------------------------------------- inspection content
async def _check_draft(kernel: Kernel, ctx: CommandContext, round_id: str,
                       body: ContentIn | ContentRevisionIn) -> None:
    round_ = await load(kernel, r.RoundState, round_key(round_id))
    team_id = body.team_id
    if ctx.actor.role == Role.TEAM and team_id is None:
        team_id = body.team_id = ctx.actor.team_id
    team_round = None
    if team_id is not None:
        team = await load(kernel, t.TeamState, team_key(team_id))
        team_round = team.round_id if team.exists else None
    c.check_draft(ctx.actor, round_, team_round, body.focus_area, tuple(body.unit_ids), team_id,
                  await known_units(kernel, body.unit_ids))


async def draft_content(kernel: Kernel, ctx: CommandContext, body: ContentIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE, Role.TEAM)
    key = content_key(derived_id("content", ctx.command_id))
    existing = await kernel.store.load(key)
    if not existing.events_of_command(ctx.command_id):  # a retry replays, whatever changed since
        await _check_draft(kernel, ctx, body.round_id, body)
    event = InspectionContentDrafted(**body.model_dump())
    return await kernel.commands.run(key, ctx, lambda agg: c.draft(c.ContentState.of(agg), event))


async def revise_content(
    kernel: Kernel, ctx: CommandContext, content_id: str, body: ContentRevisionIn
) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE, Role.TEAM)
    key = content_key(content_id)
    loaded = await kernel.store.load(key)
    state = c.ContentState.of(loaded)
    if not loaded.events_of_command(ctx.command_id):
        c.check_may_edit(ctx.actor, state)
        await _check_draft(kernel, ctx, state.round_id, body)
    event = InspectionContentRevised(**body.model_dump())
    return await kernel.commands.run(key, ctx, lambda agg: c.revise(ctx.actor, c.ContentState.of(agg), event))


async def approve_content(kernel: Kernel, ctx: CommandContext, content_id: str, note: str) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    key = content_key(content_id)
    state = c.ContentState.of(await kernel.store.load(key)).require()
    round_ = await load(kernel, r.RoundState, round_key(state.round_id))
    return await kernel.commands.run(key, ctx, lambda agg: c.approve(c.ContentState.of(agg), round_, note))


async def return_content(kernel: Kernel, ctx: CommandContext, content_id: str, reason: str) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    return await kernel.commands.run(
        content_key(content_id), ctx, lambda agg: c.return_(c.ContentState.of(agg), reason)
    )


# ----------------------------------------------------------------- teams
async def form_team(kernel: Kernel, ctx: CommandContext, body: TeamIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    round_ = await load(kernel, r.RoundState, round_key(body.round_id))
    round_.require()
    leader = await load(kernel, PersonState, person_key(body.leader_id))
    members = [await load(kernel, PersonState, person_key(m)) for m in body.member_ids]
    key = team_key(derived_id("team", ctx.command_id))
    return await kernel.commands.run(
        key, ctx, lambda agg: t.form(t.TeamState.of(agg), round_, body.name, leader, members)
    )


async def assign_team(kernel: Kernel, ctx: CommandContext, team_id: str, body: AssignIn) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    key = team_key(team_id)
    team = t.TeamState.of(await kernel.store.load(key)).require()
    round_ = await load(kernel, r.RoundState, round_key(team.round_id))
    known = await known_units(kernel, body.unit_ids)
    return await kernel.commands.run(
        key, ctx, lambda agg: t.assign(t.TeamState.of(agg), round_, tuple(body.unit_ids), known)
    )
