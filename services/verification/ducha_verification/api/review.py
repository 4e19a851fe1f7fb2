"""Review and acceptance (审核验收): one step, or propose / confirm / return for severe problems."""

from __future__ import annotations

from typing import Annotated, Any

from ducha.contracts.verification import Effectiveness, ReviewOutcome
from ducha.kernel.http import COMMAND_ERRORS, Command, CommandAnswer, KernelDep, RequestBody, command_answer
from fastapi import APIRouter, Path
from pydantic import Field

from ..domain.review import ReviewInput, decide_confirm, decide_return, decide_review
from ..domain.writeoff import problem_key
from .common import problem_facts

router = APIRouter(prefix="/v1/problems", tags=["review"])
ProblemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ReviewBody(RequestBody):
    submission_no: int = Field(ge=1, description="the submission reviewed: the latest one")
    outcome: ReviewOutcome
    effectiveness: Effectiveness | None = Field(default=None, description="required to accept (评估问效)")
    assessment: str = Field(default="", max_length=4000, description="required to accept")
    reasons: list[Annotated[str, Field(max_length=4000)]] = Field(default=[], description="required to reject")


class ConfirmBody(RequestBody):
    submission_no: int = Field(ge=1)


class ReturnBody(RequestBody):
    submission_no: int = Field(ge=1)
    reason: str = Field(max_length=4000)


@router.post("/{problem_id}/review", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="review a submission: accept or reject (severe problems: a member's proposal)")
async def review(problem_id: ProblemId, body: ReviewBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    facts = await problem_facts(kernel, problem_id, body.submission_no)
    inp = ReviewInput(body.submission_no, body.outcome, body.effectiveness, body.assessment, tuple(body.reasons))
    result = await kernel.commands.run(problem_key(facts), ctx,
                                       lambda loaded: decide_review(loaded, ctx.actor, facts, inp))
    return command_answer(result)


@router.post("/{problem_id}/review/confirm", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="the team leader confirms a pending review proposal (severe problems)")
async def confirm(problem_id: ProblemId, body: ConfirmBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    facts = await problem_facts(kernel, problem_id, body.submission_no)
    result = await kernel.commands.run(problem_key(facts), ctx,
                                       lambda loaded: decide_confirm(loaded, ctx.actor, facts, body.submission_no))
    return command_answer(result)


@router.post("/{problem_id}/review/return", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="the team leader returns a pending review proposal, with the reason")
async def return_proposal(problem_id: ProblemId, body: ReturnBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    facts = await problem_facts(kernel, problem_id, body.submission_no)
    result = await kernel.commands.run(
        problem_key(facts), ctx,
        lambda loaded: decide_return(loaded, ctx.actor, facts, body.submission_no, body.reason))
    return command_answer(result)
