"""What every verification handler shares: the kernel, reads in a thread, facts with a short wait
for the projection, and the command response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

from ducha.kernel.commands import CommandResult
from ducha.kernel.errors import NotFound, NotYetVisible
from ducha.kernel.http import ERROR_RESPONSES
from ducha.kernel.service import Kernel
from fastapi import Request
from pydantic import BaseModel

from .. import queries
from ..config import local_date
from ..domain.facts import ProblemFacts
from ..projection import NAME

P = ParamSpec("P")
T = TypeVar("T")

CATCH_UP_SECONDS = 2.0
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


async def catch_up(kernel: Kernel) -> None:
    """Wait (briefly) until the projection has applied everything in the log now."""
    target = await kernel.store.last_sequence()
    await kernel.runner(NAME).wait_for(target, timeout=CATCH_UP_SECONDS)


async def problem_facts(kernel: Kernel, problem_id: str, submission_no: int | None = None) -> ProblemFacts:
    """The problem as intake and rectification described it. When it (or the submission named) is
    not visible yet, wait for the projection; then 404 (no such problem) or 503 (retry)."""
    facts = await read(queries.problem_facts, kernel.engine, problem_id)
    if facts is None or (submission_no is not None and facts.latest_submission_no < submission_no):
        await catch_up(kernel)
        facts = await read(queries.problem_facts, kernel.engine, problem_id)
    if facts is None:
        raise NotFound(f"no problem {problem_id}")
    if submission_no is not None and facts.latest_submission_no < submission_no:
        raise NotYetVisible(f"submission {submission_no} of {problem_id} is not yet visible here; retry shortly")
    return facts


def respond(result: CommandResult, ident: str | None = None) -> dict[str, Any]:
    return {"id": ident or result.aggregate_id, "sequence": result.last_sequence, "replayed": result.replayed}
