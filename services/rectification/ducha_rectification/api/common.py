"""One path for every command on a problem: facts from the projection (waiting briefly if needed),
authorization, then the pure decision on the aggregate's own state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from ducha.contracts import Actor, DomainEvent, Role
from ducha.kernel.commands import CommandContext
from ducha.kernel.errors import NotFound
from ducha.kernel.http import ERROR_RESPONSES
from ducha.kernel.subjects import AggregateKey
from fastapi import Request

from ..domain.facts import ProblemFacts
from ..domain.state import ProblemState, fold
from ..repository import require_facts
from ..timeutil import today as city_today
from .models import CommandResponse

Authorize = Callable[[Actor, ProblemFacts], None]
Decision = Callable[[ProblemFacts, ProblemState, date], Sequence[DomainEvent]]

COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409, 422, 503)}
QUERY_ERRORS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (401, 403, 404, 503)}


def problem_key(facts: ProblemFacts) -> AggregateKey:
    return AggregateKey("rectification", "problem", facts.problem_id, facts.unit_id)


async def run_on_problem(
    request: Request, ctx: CommandContext, problem_id: str, authorize: Authorize, decide: Decision,
    result_id: str | None = None,
) -> CommandResponse:
    kernel = request.app.state.kernel
    facts = await require_facts(kernel, problem_id)
    if not facts.fed_back and ctx.actor.role in (Role.UNIT, Role.HELPER):
        raise NotFound(f"no problem {problem_id} visible to you")  # units see problems from feedback on
    authorize(ctx.actor, facts)
    today = city_today(kernel.clock)
    result = await kernel.commands.run(problem_key(facts), ctx, lambda loaded: decide(facts, fold(loaded), today))
    return CommandResponse(id=result_id or problem_id, sequence=result.last_sequence, replayed=result.replayed)


def kernel_of(request: Request) -> Any:
    return request.app.state.kernel
