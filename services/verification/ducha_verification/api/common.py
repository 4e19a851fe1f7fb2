"""What every verification handler shares: the kernel, reads in a thread, facts with a short wait
for the projection, and the command response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

from ducha.kernel.commands import CommandResult
from ducha.kernel.errors import NotYetVisible
from ducha.kernel.http import ERROR_RESPONSES
from ducha.kernel.lookup import caught_up, require_caught_up, settled
from ducha.kernel.service import Kernel
from fastapi import Request
from pydantic import BaseModel

from .. import queries
from ..config import local_date
from ..domain.facts import ProblemFacts
from ..projection import NAME

P = ParamSpec("P")
T = TypeVar("T")

COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (401, 403, 404, 409, 422, 503)}
READ_ERRORS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (401, 403, 404, 503)}


class CommandResponse(BaseModel):
    id: str
    sequence: int
    replayed: bool


class WriteOffResponse(CommandResponse):
    ledger_no: int
    round_id: str


def kernel_of(request: Request) -> Kernel:
    kernel: Kernel = request.app.state.kernel
    return kernel


def today(kernel: Kernel) -> date:
    return local_date(kernel.clock.now())


async def read(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def catch_up(kernel: Kernel, what: str = "the whole log") -> None:
    """Wait (briefly) until the projection has applied everything in the log now; 503 when it
    cannot in time (never a decision on a stale view)."""
    await require_caught_up(kernel, what, (NAME,))


async def problem_facts(kernel: Kernel, problem_id: str, submission_no: int | None = None) -> ProblemFacts:
    """The problem as intake and rectification described it. When it (or the submission named) is
    not visible yet, wait for the projection to reach the log's end; then 404 (no such problem) or
    503 with Retry-After (an upstream event not yet seen here)."""
    def fetch() -> ProblemFacts | None:
        return queries.problem_facts(kernel.engine, problem_id)

    facts = await settled(kernel, fetch, lambda f: f is not None, f"no problem {problem_id}",
                          projections=(NAME,))
    assert facts is not None
    if submission_no is not None and facts.latest_submission_no < submission_no:
        # A submission is rectification's event: not seen here (yet) is 503, never 404 or 409.
        await caught_up(kernel, (NAME,))
        facts = await read(fetch)
        if facts is None or facts.latest_submission_no < submission_no:
            raise NotYetVisible(f"submission {submission_no} of {problem_id} is not yet visible here; retry shortly")
    return facts


def respond(result: CommandResult, ident: str | None = None) -> dict[str, Any]:
    return {"id": ident or result.aggregate_id, "sequence": result.last_sequence, "replayed": result.replayed}
