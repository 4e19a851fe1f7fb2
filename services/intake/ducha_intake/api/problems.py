"""Problems (问题): reported, corrected, fed back (交办); bulk intake; suggestions (建议)."""

from __future__ import annotations

from typing import Any, Literal

from ducha.contracts.base import Role
from ducha.contracts.common import Severity
from ducha.kernel.http import Command, CurrentActor, PathId, ReadAfter
from fastapi import APIRouter, Form, Request

from .. import imports, queries
from ..commands import problems as cmd
from ..commands.common import require
from ..models import AmendIn, DuplicateIn, FeedBackIn, HandleIn, ProblemIn, ReasonIn, SuggestionIn
from ..queries import ProblemFilter
from .common import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    CommandOut,
    ImportReport,
    PageOut,
    Paging,
    Upload,
    allow,
    kernel_of,
    out,
    read,
)
from .directory import upload_bytes

problems = APIRouter(prefix="/v1/problems", tags=["problems 问题"])
suggestions = APIRouter(prefix="/v1/suggestions", tags=["suggestions 建议"])

Status = Literal["reported", "fed_back", "withdrawn", "duplicate"]


@problems.post("", status_code=201, response_model=CommandOut, responses=COMMAND_ERRORS,
               summary="report a problem under approved content of an open round (a member of the team)")
async def report_problem(body: ProblemIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.report_problem(kernel_of(request), ctx, body))


@problems.post("/import", response_model=ImportReport, responses=COMMAND_ERRORS,
               summary="bulk intake of a team's problem sheet (.xlsx/.csv), row by row (a team)")
async def import_problems(
    ctx: Command, request: Request, file: Upload,
    content_id: str | None = Form(None, description="督查内容编号 for rows that do not name one"),
) -> dict[str, Any]:
    require(ctx.actor, Role.TEAM)
    data = await upload_bytes(file)
    defaults = {"content_id": content_id} if content_id else {}
    return await imports.import_sheet(kernel_of(request), ctx, data, file.filename or "", imports.PROBLEMS,
                                      cmd.report_problem, defaults)


@problems.post("/{problem_id}/amend", response_model=CommandOut, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter], summary="correct a reported problem (its team)")
async def amend_problem(problem_id: PathId, body: AmendIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.amend_problem(kernel_of(request), ctx, problem_id, body))


@problems.post("/{problem_id}/withdraw", response_model=CommandOut, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter], summary="withdraw a problem with a reason (its team or the office)")
async def withdraw_problem(problem_id: PathId, body: ReasonIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.withdraw_problem(kernel_of(request), ctx, problem_id, body.reason))


@problems.post("/{problem_id}/duplicate", response_model=CommandOut, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter],
               summary="mark a problem as a duplicate of another at the same unit (its team or the office)")
async def mark_duplicate(problem_id: PathId, body: DuplicateIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.mark_duplicate(kernel_of(request), ctx, problem_id, body.duplicate_of, body.reason))


@problems.post("/{problem_id}/feed-back", response_model=CommandOut, responses=COMMAND_ERRORS,
               dependencies=[ReadAfter],
               summary="feed the problem back (交办) to its unit, naming the responsible person (its team)")
async def feed_back(problem_id: PathId, body: FeedBackIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.feed_back(kernel_of(request), ctx, problem_id, body))


@problems.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="problems visible to you, filtered by round, team, unit, category, status, severity")
async def list_problems(
    actor: CurrentActor, request: Request, page: Paging, round_id: str | None = None, team_id: str | None = None,
    unit_id: str | None = None, category: str | None = None, status: Status | None = None,
    severity: Severity | None = None,
) -> dict[str, Any]:
    f = ProblemFilter(round_id, team_id, unit_id, category, status, severity.value if severity else None)
    return await read(queries.list_problems, kernel_of(request).engine, actor, f, page)


@problems.get("/{problem_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="one problem (404 when it is not visible to you)")
async def get_problem(problem_id: PathId, actor: CurrentActor, request: Request) -> dict[str, Any]:
    return await read(queries.get_problem, kernel_of(request).engine, actor, problem_id)


# ------------------------------------------------------------- suggestions
@suggestions.post("", status_code=201, response_model=CommandOut, responses=COMMAND_ERRORS,
                  summary="record a suggestion for the office (a team)")
async def record_suggestion(body: SuggestionIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.record_suggestion(kernel_of(request), ctx, body))


@suggestions.post("/{suggestion_id}/handle", response_model=CommandOut, responses=COMMAND_ERRORS,
                  summary="decide on a suggestion (office)")
async def handle_suggestion(suggestion_id: PathId, body: HandleIn, ctx: Command, request: Request) -> CommandOut:
    return out(await cmd.handle_suggestion(kernel_of(request), ctx, suggestion_id, body.decision, body.note))


@suggestions.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
                 summary="suggestions (office and cadre: all; a team: its own)")
async def list_suggestions(actor: CurrentActor, request: Request, page: Paging, round_id: str | None = None,
                           status: Literal["open", "handled"] | None = None) -> dict[str, Any]:
    allow(actor, Role.OFFICE, Role.CADRE, Role.TEAM, Role.SYSTEM)
    team_id = actor.team_id if actor.role == Role.TEAM else None
    return await read(queries.list_table, kernel_of(request).engine, queries.suggestions, page,
                      order=queries.suggestions.c.recorded_at, round_id=round_id, status=status, team_id=team_id)


__all__ = ["problems", "suggestions"]
