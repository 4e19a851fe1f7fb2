"""Query routes: the ledger (整改台账) for units, teams, helpers and the city, one problem's detail,
and the Excel export. Every query takes ?min_sequence= to read a write it just made."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Literal
from urllib.parse import quote

from ducha.kernel.calendar import city_today
from ducha.kernel.errors import NotFound
from ducha.kernel.http import MAX_PAGE, QUERY_ERRORS, CurrentActor, KernelDep, Offset, PathId, ReadAfter
from ducha.kernel.lookup import read
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ..domain.access import refuse_public, require_view
from ..read.queries import (
    LedgerFilter,
    ledger,
    ledger_pages,
    problem_detail,
    read_facts,
    read_helper_ids,
    scope_filter,
)
from .export import write_ledger_workbook
from .models import LedgerPage, ProblemDetail

router = APIRouter(prefix="/v1", tags=["rectification queries"], responses=QUERY_ERRORS, dependencies=[ReadAfter])

Status = Literal["awaiting_commitment", "rectifying", "submitted", "accepted", "written_off", "withdrawn",
                 "duplicate"]
Pending = Literal["extension", "help", "help_report", "reminder"]
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
    actor: CurrentActor, kernel: KernelDep, f: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50, offset: Offset = 0,
    cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page: "
                                        "the next page at the same cost at any depth (offset is then ignored)")
                      ] = None,
) -> LedgerPage:
    wanted, scope = scope_filter(actor, f)
    today = city_today(kernel.clock)
    page = await read(ledger, kernel.engine, today, wanted, scope, limit, offset, cursor)
    return LedgerPage.model_validate({"items": page.rows, "total": page.total, "limit": limit,
                                      "offset": 0 if cursor else offset, "next_cursor": page.next_cursor,
                                      "today": today})


@router.get("/ledger.xlsx", summary="the same ledger as an Excel file (Chinese headers), streamed",
            response_class=StreamingResponse, responses={200: {"content": {XLSX: {}}}})
async def export_ledger(
    actor: CurrentActor, kernel: KernelDep, f: Filter,
) -> StreamingResponse:
    wanted, scope = scope_filter(actor, f)
    today = city_today(kernel.clock)
    # Rows read in keyset pages and written row by row to a temporary file, then sent in chunks:
    # memory stays bounded for any number of rows.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _chunks once sent (or below on error)
    try:
        await read(write_ledger_workbook, ledger_pages(kernel.engine, today, wanted, scope), today, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    name = f"整改台账-{today.isoformat()}.xlsx"
    return StreamingResponse(_chunks(spool), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"ledger-{today.isoformat()}.xlsx\"; "
                               f"filename*=UTF-8''{quote(name)}"})


def _chunks(spool: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(size):
            yield chunk


@router.get("/problems/{problem_id}", summary="one problem's rectification: ledger line, extensions, "
            "reminders, help, history")
async def get_problem(problem_id: PathId, actor: CurrentActor, kernel: KernelDep) -> ProblemDetail:
    refuse_public(actor)
    facts = await read(read_facts, kernel.engine, problem_id)
    if facts is None or not facts.fed_back:
        raise NotFound(f"no problem {problem_id} in the rectification ledger")
    require_view(actor, facts, await read(read_helper_ids, kernel.engine, problem_id))
    detail = await read(problem_detail, kernel.engine, city_today(kernel.clock), problem_id)
    if detail is None:
        raise NotFound(f"no problem {problem_id} in the rectification ledger")
    return ProblemDetail.model_validate(detail)
