"""Query routes: the ledger (整改台账) for units, teams, helpers and the city, one problem's detail,
and the Excel export. Every query takes ?min_sequence= to read a write it just made."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal
from urllib.parse import quote

from ducha.kernel.errors import NotFound
from ducha.kernel.http import MAX_PAGE, CurrentActor, Offset, PathId, ReadAfter
from fastapi import APIRouter, Depends, Query, Request, Response

from ..domain.access import refuse_public, require_view
from ..export import ledger_workbook
from ..queries import LedgerFilter, ledger, problem_detail, scope_filter
from ..repository import read_facts, read_helper_ids
from ..timeutil import today as city_today
from .common import QUERY_ERRORS, kernel_of
from .models import LedgerPage, ProblemDetail

router = APIRouter(prefix="/v1", tags=["rectification queries"], responses=QUERY_ERRORS, dependencies=[ReadAfter])

Status = Literal["awaiting_commitment", "rectifying", "submitted", "accepted", "written_off", "withdrawn",
                 "duplicate"]
Pending = Literal["extension", "help", "help_report", "reminder"]
EXPORT_LIMIT = 20_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filter(
    unit_id: Annotated[str | None, Query(description="one unit (units: always their own)")] = None,
    team_id: Annotated[str | None, Query(description="one team (teams: always their own)")] = None,
    round_id: str | None = None,
    status: Status | None = None,
    light: Literal["green", "yellow", "red"] | None = None,
    severity: Literal["general", "serious", "severe"] | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the title or the 督办编号")] = None,
    pending: Annotated[Pending | None, Query(description="a to-do (待办): extension = an extension request to "
                                             "decide, help = a help request to assign, help_report = an "
                                             "assigned help not yet reported, reminder = a reminder to acknowledge")
                       ] = None,
) -> LedgerFilter:
    return LedgerFilter(unit_id, team_id, round_id, status, light, severity, q, pending=pending)


Filter = Annotated[LedgerFilter, Depends(_filter)]


@router.get("/ledger", summary="rectification ledger (整改台账), scoped to who asks; red first")
async def get_ledger(
    actor: CurrentActor, request: Request, f: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50, offset: Offset = 0,
) -> LedgerPage:
    kernel = kernel_of(request)
    wanted, scope = scope_filter(actor, f)
    today = city_today(kernel.clock)
    rows, total = await asyncio.to_thread(ledger, kernel.engine, today, wanted, scope, limit, offset)
    return LedgerPage.model_validate({"items": rows, "total": total, "limit": limit, "offset": offset,
                                      "today": today})


@router.get("/ledger.xlsx", summary="the same ledger as an Excel file (Chinese headers)",
            response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def export_ledger(
    actor: CurrentActor, request: Request, f: Filter,
) -> Response:
    kernel = kernel_of(request)
    wanted, scope = scope_filter(actor, f)
    today = city_today(kernel.clock)
    rows, _total = await asyncio.to_thread(ledger, kernel.engine, today, wanted, scope, EXPORT_LIMIT, 0)
    body = await asyncio.to_thread(ledger_workbook, rows, today)
    name = f"整改台账-{today.isoformat()}.xlsx"
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"ledger-{today.isoformat()}.xlsx\"; "
                               f"filename*=UTF-8''{quote(name)}"})


@router.get("/problems/{problem_id}", summary="one problem's rectification: ledger line, extensions, "
            "reminders, help, history")
async def get_problem(problem_id: PathId, actor: CurrentActor, request: Request) -> ProblemDetail:
    refuse_public(actor)
    kernel = kernel_of(request)
    facts = await asyncio.to_thread(read_facts, kernel.engine, problem_id)
    if facts is None or not facts.fed_back:
        raise NotFound(f"no problem {problem_id} in the rectification ledger")
    require_view(actor, facts, await asyncio.to_thread(read_helper_ids, kernel.engine, problem_id))
    detail = await asyncio.to_thread(problem_detail, kernel.engine, city_today(kernel.clock), problem_id)
    if detail is None:
        raise NotFound(f"no problem {problem_id} in the rectification ledger")
    return ProblemDetail.model_validate(detail)
