"""Problems (问题): reported, corrected, fed back (交办); bulk intake; suggestions (建议)."""

from __future__ import annotations

from typing import Any, Literal

from ducha.contracts.base import Role
from ducha.contracts.common import Severity
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    Command,
    CommandAnswer,
    CurrentActor,
    KernelDep,
    PathId,
    ReadAfter,
    require_role,
)
from ducha.kernel.lookup import read
from fastapi import APIRouter, Form

from .. import imports
from ..commands import problems as cmd
from ..read import queries
from ..read.queries import ProblemFilter
from .common import ImportReport, PageOut, Paging, Upload
from .directory import upload_bytes
from .models import AmendIn, DuplicateIn, FeedBackIn, HandleIn, ProblemIn, ReasonIn, SuggestionIn

problems = APIRouter(prefix="/v1/problems", tags=["problems 问题"])
suggestions = APIRouter(prefix="/v1/suggestions", tags=["suggestions 建议"])

Status = Literal["reported", "fed_back", "withdrawn", "duplicate"]


@problems.post("", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
               summary="report a problem under approved content of an open round (a member of the team)")
async def report_problem(body: ProblemIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.report_problem(kernel, ctx, body))


@problems.post("/import", response_model=ImportReport, responses=COMMAND_ERRORS,
               summary="bulk intake of a team's problem sheet (.xlsx/.csv), row by row (a team)")
async def import_problems(
    ctx: Command, kernel: KernelDep, file: Upload,
    content_id: str | None = Form(None, description="督查内容编号 for rows that do not name one"),
) -> dict[str, Any]:
    require_role(ctx.actor, Role.TEAM)
    data = await upload_bytes(file)
    defaults = {"content_id": content_id} if content_id else {}
    return await imports.import_sheet(kernel, ctx, data, file.filename or "", imports.PROBLEMS,
                                      cmd.report_problem, defaults)


@problems.post("/{problem_id}/amend", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter], summary="correct a reported problem (its team)")
async def amend_problem(problem_id: PathId, body: AmendIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.amend_problem(kernel, ctx, problem_id, body))


@problems.post("/{problem_id}/withdraw", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter], summary="withdraw a problem with a reason (its team or the office)")
async def withdraw_problem(problem_id: PathId, body: ReasonIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.withdraw_problem(kernel, ctx, problem_id, body.reason))


@problems.post("/{problem_id}/duplicate", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter],
               summary="mark a problem as a duplicate of another at the same unit (its team or the office)")
async def mark_duplicate(problem_id: PathId, body: DuplicateIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.mark_duplicate(kernel, ctx, problem_id, body.duplicate_of, body.reason))


@problems.post("/{problem_id}/feed-back", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter],
               summary="feed the problem back (交办) to its unit, naming the responsible person (its team)")
async def feed_back(problem_id: PathId, body: FeedBackIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.feed_back(kernel, ctx, problem_id, body))


@problems.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="problems visible to you, filtered by round, team, unit, category, status, severity")
async def list_problems(
    actor: CurrentActor, kernel: KernelDep, page: Paging, round_id: str | None = None, team_id: str | None = None,
    unit_id: str | None = None, category: str | None = None, status: Status | None = None,
    severity: Severity | None = None,
) -> dict[str, Any]:
    f = ProblemFilter(round_id, team_id, unit_id, category, status, severity.value if severity else None)
    return await read(queries.list_problems, kernel.engine, actor, f, page)


@problems.get("/{problem_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="one problem (404 when it is not visible to you)")
async def get_problem(problem_id: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    return await read(queries.get_problem, kernel.engine, actor, problem_id)


# ------------------------------------------------------------- suggestions
@suggestions.post("", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
                  summary="record a suggestion for the office (a team)")
async def record_suggestion(body: SuggestionIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.record_suggestion(kernel, ctx, body))


@suggestions.post("/{suggestion_id}/handle", response_model=CommandAnswer, responses=COMMAND_ERRORS,
                  summary="decide on a suggestion (office)")
async def handle_suggestion(suggestion_id: PathId, body: HandleIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.handle_suggestion(kernel, ctx, suggestion_id, body.decision, body.note))


@suggestions.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
                 summary="suggestions (office and cadre: all; a team: its own)")
async def list_suggestions(actor: CurrentActor, kernel: KernelDep, page: Paging, round_id: str | None = None,
                           status: Literal["open", "handled"] | None = None) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.CADRE, Role.TEAM, Role.SYSTEM)
    team_id = actor.team_id if actor.role == Role.TEAM else None
    return await read(queries.list_table, kernel.engine, queries.suggestions, page,
                      order=queries.suggestions.c.recorded_at, round_id=round_id, status=status, team_id=team_id)


__all__ = ["problems", "suggestions"]
