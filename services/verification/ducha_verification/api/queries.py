"""Queries: problems as verification sees them, statistics and the unit ranking."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ducha.kernel.calendar import city_today
from ducha.kernel.errors import NotFound
from ducha.kernel.http import QUERY_ERRORS, CurrentActor, KernelDep, ReadAfter
from ducha.kernel.lookup import read
from fastapi import APIRouter, Path, Query

from ..read import figures as stats
from ..read import queries
from ..read.scope import Scope
from .models import DashboardFigures, Paging

router = APIRouter(tags=["queries"])
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Stage = Literal["reported", "fed_back", "rectifying", "submitted", "accepted", "written_off", "held"]


@router.get("/v1/problems", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="problems with their verification state (scoped to the reader)")
async def list_problems(actor: CurrentActor, kernel: KernelDep, page: Paging,
                        round_id: Annotated[str | None, Query()] = None,
                        unit_id: Annotated[str | None, Query()] = None,
                        team_id: Annotated[str | None, Query()] = None,
                        stage: Annotated[Stage | None, Query()] = None) -> dict[str, Any]:
    rows, next_cursor = await read(queries.list_problems, kernel.engine, Scope.of(actor), round_id, unit_id,
                                   team_id, stage, page)
    return {"problems": rows, "next_cursor": next_cursor}


@router.get("/v1/problems/{problem_id}", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="one problem: stage, submissions with their reviews, ledger lines and revisits")
async def get_problem(problem_id: Id, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    scope = Scope.of(actor)
    view = await read(queries.problem_view, kernel.engine, problem_id)
    if view is None or view["round_id"] is None or not await read(queries.in_scope, kernel.engine,
                                                                 scope, problem_id):
        raise NotFound(f"no problem {problem_id}")
    return view


@router.get("/v1/stats", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="statistics per round, team or unit (scoped to the reader)")
async def get_stats(actor: CurrentActor, kernel: KernelDep,
                    by: Annotated[Literal["round", "team", "unit"], Query()] = "unit",
                    round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    return await read(stats.statistics, kernel.engine, Scope.of(actor), by, round_id)


@router.get("/v1/figures", dependencies=[ReadAfter], responses=QUERY_ERRORS, response_model=DashboardFigures,
            summary="the dashboard's figures in one answer: totals, units and teams ranked, lights today "
                    "(scoped to the reader; kept as counters by the projection, so fast at any size)")
async def get_figures(actor: CurrentActor, kernel: KernelDep,
                      round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    return await read(stats.dashboard, kernel.engine, Scope.of(actor), round_id, city_today(kernel.clock))


@router.get("/v1/ranking", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="unit ranking (ducha.figures): rectification rate, then on-time rate, then fewer rebounds, then fewer overdue; equal keys share a rank")
async def get_ranking(actor: CurrentActor, kernel: KernelDep,
                      round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    rows = await read(stats.ranking, kernel.engine, Scope.of(actor), round_id)
    return {"round_id": round_id, "ranking": rows}
