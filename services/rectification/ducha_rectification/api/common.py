"""One path for every command on a problem: facts from the projection (waiting briefly if needed),
authorization, then the pure decision on the aggregate's own state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import date

from ducha.contracts import Actor, DomainEvent, Role
from ducha.kernel.calendar import city_today
from ducha.kernel.commands import CommandContext
from ducha.kernel.errors import NotFound, NotYetVisible
from ducha.kernel.http import CommandAnswer
from ducha.kernel.lookup import facts_with_wait
from ducha.kernel.runtime import Kernel
from ducha.kernel.subjects import AggregateKey

from ..domain.facts import ProblemFacts
from ..domain.state import ProblemState
from ..reactions import ReopenOnRejectionOrRebound
from ..read.queries import read_facts

Authorize = Callable[[Actor, ProblemFacts], None]
Decision = Callable[[ProblemFacts, ProblemState, date], Sequence[DomainEvent]]


def problem_key(facts: ProblemFacts) -> AggregateKey:
    return AggregateKey("rectification", "problem", facts.problem_id, facts.unit_id)


async def run_on_problem(
    kernel: Kernel, ctx: CommandContext, problem_id: str, authorize: Authorize, decide: Decision,
    result_id: str | None = None,
) -> CommandAnswer:
    # Not fed back yet is waited for like a missing problem (then answered 409 by the decision).
    facts = await facts_with_wait(kernel, lambda: read_facts(kernel.engine, problem_id), what=f"no problem {problem_id}",
                                  ready=lambda f: f.fed_back)
    if not facts.fed_back and ctx.actor.role in (Role.UNIT, Role.HELPER):
        raise NotFound(f"no problem {problem_id} visible to you")  # units see problems from feedback on
    authorize(ctx.actor, facts)
    await reopen_recorded(kernel, facts.reopen_seq)
    today = city_today(kernel.clock)
    result = await kernel.commands.run(problem_key(facts), ctx,
                                       lambda loaded: decide(facts, ProblemState.of(loaded), today))
    return CommandAnswer(id=result_id or problem_id, sequence=result.last_sequence, replayed=result.replayed)


REOPEN_WAIT_SECONDS = 5.0


async def reopen_recorded(kernel: Kernel, upto: int) -> None:
    """Until this instance's reopen reaction has handled every rejection and rebound up to `upto`
    (the projection's last reopen), so the aggregate holds the reopen the unit already sees: a
    resubmission right after a rejection is decided on the reopened problem, not refused."""
    runner = kernel.reactors.get(ReopenOnRejectionOrRebound.name)
    if runner is None or upto <= 0:
        return
    give_up = time.monotonic() + REOPEN_WAIT_SECONDS
    while runner.position < upto:
        # A reopen recorded by rectification itself (not by verification's event) is nothing the
        # reaction waits on: done once nothing of its own is left up to `upto`.
        nexts = [await kernel.store.next_sequence_matching(s, runner.position) for s in runner.reaction.subjects]
        if all(n is None or n > upto for n in nexts):
            return
        if time.monotonic() > give_up:
            raise NotYetVisible("the problem's reopen is still being recorded; retry shortly")
        await asyncio.sleep(0.01)
