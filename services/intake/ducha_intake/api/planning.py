"""Rounds (轮次), inspection content approval (督查内容审批), teams (督查督导组)."""

from __future__ import annotations

from typing import Any, Literal

from ducha.contracts.base import Role
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
from fastapi import APIRouter
from sqlalchemy import or_

from ..commands import planning as cmd
from ..read import queries
from ..read.queries import Page
from .common import NOT_PUBLIC, PageOut, Paging
from .models import AssignIn, ContentIn, ContentRevisionIn, NoteIn, ReasonIn, RoundIn, TeamIn

rounds = APIRouter(prefix="/v1/rounds", tags=["rounds 轮次"])
contents = APIRouter(prefix="/v1/contents", tags=["inspection content 督查内容"])
teams = APIRouter(prefix="/v1/teams", tags=["teams 督查督导组"])


# ----------------------------------------------------------------- rounds
@rounds.post("", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="open a round with its dates, focus areas and deadline policy (office)")
async def open_round(body: RoundIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.open_round(kernel, ctx, body))


@rounds.post("/{round_id}/close", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="close a round (office)")
async def close_round(round_id: PathId, body: NoteIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.close_round(kernel, ctx, round_id, body.note))


@rounds.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
            summary="list rounds (everyone but the public)")
async def list_rounds(actor: CurrentActor, kernel: KernelDep, page: Paging, status: Literal["open", "closed"] | None = None) -> dict[str, Any]:
    require_role(actor, *NOT_PUBLIC)
    return await read(queries.list_table, kernel.engine, queries.rounds, page,
                      order=queries.rounds.c.number, status=status)


@rounds.get("/{round_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter], summary="one round")
async def get_round(round_id: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    require_role(actor, *NOT_PUBLIC)
    return await read(queries.get_one, kernel.engine, queries.rounds, round_id, "round (轮次不存在)")


# ------------------------------------------------------- inspection content
@contents.post("", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
               summary="draft inspection content and plan for a round (office, or a team for itself)")
async def draft_content(body: ContentIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.draft_content(kernel, ctx, body))


@contents.post("/{content_id}/revise", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               summary="revise pending or returned content (office, or its team)")
async def revise_content(content_id: PathId, body: ContentRevisionIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.revise_content(kernel, ctx, content_id, body))


@contents.post("/{content_id}/approve", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               summary="approve inspection content (office)")
async def approve_content(content_id: PathId, body: NoteIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.approve_content(kernel, ctx, content_id, body.note))


@contents.post("/{content_id}/return", response_model=CommandAnswer, responses=COMMAND_ERRORS,
               summary="return inspection content with reasons (office)")
async def return_content(content_id: PathId, body: ReasonIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.return_content(kernel, ctx, content_id, body.reason))


def _content_scope(actor: Any) -> Any:
    require_role(actor, Role.OFFICE, Role.CADRE, Role.TEAM, Role.SYSTEM)
    if actor.role == Role.TEAM:
        c = queries.contents.c
        return or_(c.team_id == actor.team_id, c.drafted_by_team == actor.team_id)
    return None


async def _contents(kernel: KernelDep, actor: Any, page: Page, **equals: Any) -> dict[str, Any]:
    scope = _content_scope(actor)
    return await read(queries.list_contents, kernel.engine, scope, page, **equals)


@contents.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="list inspection content (office and cadre: all; a team: its own)")
async def list_contents(actor: CurrentActor, kernel: KernelDep, page: Paging, round_id: str | None = None,
                        team_id: str | None = None,
                        status: Literal["pending", "approved", "returned"] | None = None) -> dict[str, Any]:
    return await _contents(kernel, actor, page, round_id=round_id, team_id=team_id, status=status)


@contents.get("/pending", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
              summary="inspection content waiting for approval (待审批)")
async def pending_contents(actor: CurrentActor, kernel: KernelDep, page: Paging, round_id: str | None = None) -> dict[str, Any]:
    return await _contents(kernel, actor, page, round_id=round_id, status="pending")


@contents.get("/{content_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter], summary="one inspection content")
async def get_content(content_id: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    scope = _content_scope(actor)
    page = await read(queries.list_contents, kernel.engine, scope, Page(1, 0), id=content_id)
    if not page["items"]:
        from ducha.kernel.errors import NotFound

        raise NotFound(f"no inspection content {content_id} (督查内容不存在)")
    return dict(page["items"][0])


# ----------------------------------------------------------------- teams
@teams.post("", status_code=201, response_model=CommandAnswer, responses=COMMAND_ERRORS,
            summary="form a team for a round with a leader and members (office)")
async def form_team(body: TeamIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.form_team(kernel, ctx, body))


@teams.post("/{team_id}/units", response_model=CommandAnswer, responses=COMMAND_ERRORS,
            summary="assign a team to units (office)")
async def assign_team(team_id: PathId, body: AssignIn, ctx: Command, kernel: KernelDep) -> CommandAnswer:
    return CommandAnswer.of(await cmd.assign_team(kernel, ctx, team_id, body))


@teams.get("", response_model=PageOut, responses=QUERY_ERRORS, dependencies=[ReadAfter],
           summary="list teams (office, teams, cadre supervision)")
async def list_teams(actor: CurrentActor, kernel: KernelDep, page: Paging, round_id: str | None = None) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM)
    return await read(queries.list_table, kernel.engine, queries.teams, page, round_id=round_id)


@teams.get("/{team_id}", responses=QUERY_ERRORS, dependencies=[ReadAfter],
           summary="one team with its assigned units")
async def get_team(team_id: PathId, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.TEAM, Role.CADRE, Role.SYSTEM)
    return await read(queries.get_team, kernel.engine, team_id)
