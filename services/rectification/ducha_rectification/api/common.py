"""One path for every command on a problem: facts from the projection (waiting briefly if needed),
authorization, then the pure decision on the aggregate's own state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from ducha.contracts import Actor, DomainEvent, Role
from ducha.kernel.calendar import city_today
from ducha.kernel.commands import CommandContext
from ducha.kernel.errors import NotFound
from ducha.kernel.lookup import facts_with_wait
from ducha.kernel.runtime import Kernel
from ducha.kernel.subjects import AggregateKey

from ..domain.facts import ProblemFacts
from ..domain.state import ProblemState
from ..read.queries import read_facts
from .models import CommandResponse

Authorize = Callable[[Actor, ProblemFacts], None]
Decision = Callable[[ProblemFacts, ProblemState, date], Sequence[DomainEvent]]


def problem_key(facts: ProblemFacts) -> AggregateKey:
    return AggregateKey("rectification", "problem", facts.problem_id, facts.unit_id)


async def run_on_problem(
    kernel: Kernel, ctx: CommandContext, problem_id: str, authorize: Authorize, decide: Decision,
    result_id: str | None = None,
) -> CommandResponse:
    # Not fed back yet is waited for like a missing problem (then answered 409 by the decision).
    facts = await facts_with_wait(kernel, lambda: read_facts(kernel.engine, problem_id), what=f"no problem {problem_id}",
                                  ready=lambda f: f.fed_back)
    if not facts.fed_back and ctx.actor.role in (Role.UNIT, Role.HELPER):
        raise NotFound(f"no problem {problem_id} visible to you")  # units see problems from feedback on
    authorize(ctx.actor, facts)
    today = city_today(kernel.clock)
    result = await kernel.commands.run(problem_key(facts), ctx,
                                       lambda loaded: decide(facts, ProblemState.of(loaded), today))
    return CommandResponse(id=result_id or problem_id, sequence=result.last_sequence, replayed=result.replayed)
