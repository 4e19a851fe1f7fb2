"""Write-off (入账销号), the ledger (销号台账) and its Excel export, revisits (回访)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from ducha.contracts.common import EvidenceRef
from ducha.contracts.verification import LedgerEntryRecorded, RevisitOutcome
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    Command,
    CommandAnswer,
    CurrentActor,
    KernelDep,
    ReadAfter,
    RequestBody,
    command_answer,
)
from ducha.kernel.lookup import read
from ducha.kernel.subjects import AggregateKey
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import Field

from ..domain.revisit import RevisitInput, decide_revisit
from ..domain.writeoff import decide_write_off, ledger_key, problem_key
from ..export import ledger_workbook
from ..read import queries
from ..read.scope import Scope
from .common import Settings, WriteOffAnswer, problem_facts, today
from .models import Paging

router = APIRouter(tags=["write-off"])
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RevisitBody(RequestBody):
    outcome: RevisitOutcome
    findings: str = Field(min_length=1, max_length=4000)
    visited_on: date | None = Field(default=None, description="default: today")
    evidence: list[EvidenceRef] = Field(default_factory=list)


@router.post("/v1/problems/{problem_id}/write-off", response_model=WriteOffAnswer, responses=COMMAND_ERRORS,
             summary="enter the accepted problem on its round's ledger and write it off (销号)")
async def write_off(problem_id: Id, ctx: Command, kernel: KernelDep, settings: Settings) -> dict[str, Any]:
    facts = await problem_facts(kernel, problem_id)
    assert facts.round_id is not None
    days = await read(queries.revisit_after_days, kernel.engine, facts.round_id) or settings.revisit_after_days
    day = today(kernel)
    keys: list[AggregateKey] = [ledger_key(facts.round_id), problem_key(facts)]
    result = await kernel.commands.run_multi(
        keys, ctx, lambda loaded: decide_write_off(loaded, ctx.actor, facts, day, days))
    line = result.payload(LedgerEntryRecorded)
    return {**command_answer(result, problem_id), "ledger_no": line.ledger_no, "round_id": facts.round_id}


@router.post("/v1/problems/{problem_id}/revisit", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="record the revisit (回访) after write-off: held or rebounded")
async def revisit(problem_id: Id, body: RevisitBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    facts = await problem_facts(kernel, problem_id)
    day = today(kernel)
    inp = RevisitInput(body.outcome, body.findings, body.visited_on or day, tuple(body.evidence))
    result = await kernel.commands.run(problem_key(facts), ctx,
                                       lambda loaded: decide_revisit(loaded, ctx.actor, facts, inp, day))
    return command_answer(result)


@router.get("/v1/rounds/{round_id}/ledger", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="the round's write-off ledger, in ledger order (scoped to the reader)")
async def get_ledger(round_id: Id, actor: CurrentActor, kernel: KernelDep, page: Paging) -> dict[str, Any]:
    rows, next_cursor = await read(queries.ledger_page, kernel.engine, Scope.of(actor), round_id, page)
    return {"round_id": round_id, "entries": rows, "next_cursor": next_cursor}


@router.get("/v1/rounds/{round_id}/ledger.xlsx", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            response_class=Response, summary="the round's write-off ledger as an Excel file (销号台账)")
async def export_ledger(round_id: Id, actor: CurrentActor, kernel: KernelDep) -> Response:
    rows = await read(queries.ledger_rows, kernel.engine, Scope.of(actor), round_id)
    names = await read(queries.round_names, kernel.engine)
    body = await read(ledger_workbook, names.get(round_id, round_id), rows)
    filename = f"销号台账-{round_id}.xlsx"
    disposition = f"attachment; filename=\"ledger-{round_id}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/v1/revisits", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="write-offs waiting for their revisit, by due date (scoped to the reader)")
async def revisits_due(actor: CurrentActor, kernel: KernelDep,
                       round_id: Annotated[str | None, Query()] = None,
                       due_by: Annotated[date | None, Query(description="due on or before")] = None) -> dict[str, Any]:
    rows = await read(queries.revisits_due, kernel.engine, Scope.of(actor), round_id, due_by)
    return {"revisits": rows}
