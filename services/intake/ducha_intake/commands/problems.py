"""Problem and suggestion commands."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ducha.contracts.base import DomainEvent, Role
from ducha.contracts.intake import IssueAmended, IssueReported, SuggestionRecorded
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.errors import InvalidCommand, NotFound, NotYetVisible
from ducha.kernel.eventstore import LoadedAggregate
from ducha.kernel.http import require_role
from ducha.kernel.lookup import caught_up
from ducha.kernel.subjects import AggregateKey

from ..api.models import AmendIn, FeedBackIn, ProblemIn, SuggestionIn
from ..domain import problems as p
from ..domain import suggestions as s
from ..domain.calendar import local_date
from ..domain.content import ContentState
from ..domain.directory import UnitState
from ..domain.rounds import RoundState
from ..domain.teams import TeamState
from ..read import queries
from .common import (
    CTX,
    content_key,
    holidays,
    load,
    problem_key,
    round_key,
    series_key,
    suggestion_key,
    team_key,
    unit_key,
)

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel


async def report_problem(kernel: Kernel, ctx: CommandContext, body: ProblemIn) -> CommandResult:
    require_role(ctx.actor, Role.TEAM)
    assert ctx.actor.team_id is not None
    key = problem_key(derived_id("problem", ctx.command_id), body.unit_id)
    earlier = (await kernel.store.load(key)).events_of_command(ctx.command_id)
    if earlier and isinstance(earlier[0].payload, IssueReported):  # replays the first result, both aggregates
        return await kernel.commands.run_multi([key, series_key(earlier[0].payload.round_id)], ctx, lambda _l: {})
    # one round trip's wait for the independent facts instead of one after another
    team_state, content_state, unit, earlier_state = await asyncio.gather(
        load(kernel, TeamState, team_key(ctx.actor.team_id)),
        load(kernel, ContentState, content_key(body.content_id)),
        load(kernel, UnitState, unit_key(body.unit_id)),
        load(kernel, p.ProblemState, problem_key(body.repeat_of, body.unit_id)) if body.repeat_of else _none(),
    )
    team, content = team_state.require(), content_state.require()
    setting = p.ReportSetting(
        actor=ctx.actor,
        unit=unit,
        team=team,
        content=content,
        round=await load(kernel, RoundState, round_key(content.round_id)),
        today=local_date(kernel.clock.now()),
        earlier=earlier_state,
    )
    event = IssueReported(
        round_id=content.round_id,
        team_id=team.id,
        repeat_of_unit_id=body.unit_id if body.repeat_of else None,
        **body.model_dump(exclude={"unit_id"}),
    )
    series = series_key(content.round_id)

    def decide(loaded: dict[AggregateKey, LoadedAggregate]) -> dict[AggregateKey, Sequence[DomainEvent]]:
        reported, numbered = p.report_numbered(p.ProblemState.of(loaded[key]), event, body.unit_id, setting,
                                               loaded[series].version)
        return {key: reported, series: numbered}

    return await kernel.commands.run_multi([key, series], ctx, decide)


async def _none() -> None:
    return None


async def _problem(kernel: Kernel, problem_id: str) -> tuple[str, p.ProblemState]:
    """The problem's unit (the key needs it) and its authoritative state, both from the log: a
    command sent right after the report finds the problem whether or not the read model has
    applied the report yet."""
    unit_id = await kernel.store.find_unit(CTX, "problem", problem_id)
    if unit_id is None:
        raise NotFound(f"no problem {problem_id} (问题不存在)")
    return unit_id, await load(kernel, p.ProblemState, problem_key(problem_id, unit_id))


async def amend_problem(kernel: Kernel, ctx: CommandContext, problem_id: str, body: AmendIn) -> CommandResult:
    require_role(ctx.actor, Role.TEAM)
    unit_id, state = await _problem(kernel, problem_id)
    round_ = await load(kernel, RoundState, round_key(state.require().round_id))
    event = IssueAmended(**body.model_dump())
    return await kernel.commands.run(
        problem_key(problem_id, unit_id), ctx,
        lambda agg: p.amend(ctx.actor, p.ProblemState.of(agg), round_, event),
    )


async def withdraw_problem(kernel: Kernel, ctx: CommandContext, problem_id: str, reason: str) -> CommandResult:
    require_role(ctx.actor, Role.TEAM, Role.OFFICE)
    unit_id, _state = await _problem(kernel, problem_id)
    return await kernel.commands.run(
        problem_key(problem_id, unit_id), ctx,
        lambda agg: p.withdraw(ctx.actor, p.ProblemState.of(agg), reason),
    )


async def mark_duplicate(
    kernel: Kernel, ctx: CommandContext, problem_id: str, duplicate_of: str, reason: str
) -> CommandResult:
    require_role(ctx.actor, Role.TEAM, Role.OFFICE)
    unit_id, _state = await _problem(kernel, problem_id)
    original = await load(kernel, p.ProblemState, problem_key(duplicate_of, unit_id))
    return await kernel.commands.run(
        problem_key(problem_id, unit_id), ctx,
        lambda agg: p.mark_duplicate(ctx.actor, p.ProblemState.of(agg), original, reason),
    )


async def feed_back(kernel: Kernel, ctx: CommandContext, problem_id: str, body: FeedBackIn) -> CommandResult:
    require_role(ctx.actor, Role.TEAM)
    unit_id, state = await _problem(kernel, problem_id)
    round_ = await load(kernel, RoundState, round_key(state.require().round_id))
    now = kernel.clock.now()
    return await kernel.commands.run(
        problem_key(problem_id, unit_id), ctx,
        lambda agg: p.feed_back(ctx.actor, p.ProblemState.of(agg), round_, now, holidays=holidays(),
                                **body.model_dump()),
    )


# ------------------------------------------------------------ suggestions
async def record_suggestion(kernel: Kernel, ctx: CommandContext, body: SuggestionIn) -> CommandResult:
    require_role(ctx.actor, Role.TEAM)
    assert ctx.actor.team_id is not None
    team = (await load(kernel, TeamState, team_key(ctx.actor.team_id))).require()
    if body.problem_ids:
        def own() -> set[str]:
            return queries.problem_ids_of_team(kernel.engine, body.problem_ids, team.id)

        found = await asyncio.to_thread(own)
        if not set(body.problem_ids) <= found:
            # A problem reported a moment ago may not be in the read model yet.
            if not await caught_up(kernel):
                raise NotYetVisible("the problems named are not yet visible to intake; retry shortly")
            found = await asyncio.to_thread(own)
        unknown = [pid for pid in body.problem_ids if pid not in found]
        if unknown:
            raise InvalidCommand(f"not problems of this team (非本组问题): {', '.join(unknown)}", field="problem_ids")
    event = SuggestionRecorded(round_id=team.round_id, team_id=team.id, **body.model_dump())
    key = suggestion_key(derived_id("suggestion", ctx.command_id))
    return await kernel.commands.run(key, ctx, lambda agg: s.record(s.SuggestionState.of(agg), event))


async def handle_suggestion(
    kernel: Kernel, ctx: CommandContext, suggestion_id: str, decision: str, note: str
) -> CommandResult:
    require_role(ctx.actor, Role.OFFICE)
    return await kernel.commands.run(
        suggestion_key(suggestion_id), ctx,
        lambda agg: s.handle(s.SuggestionState.of(agg), decision, note),
    )
