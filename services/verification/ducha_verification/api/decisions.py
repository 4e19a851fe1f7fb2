"""Accountability (问责) and tolerance (容错纠错) decisions of cadre supervision."""

from __future__ import annotations

from typing import Annotated, Any

from ducha.contracts import Role
from ducha.contracts.verification import DecisionKind
from ducha.kernel.clock import derived_id
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
    require_role,
)
from ducha.kernel.lookup import read, require_caught_up
from ducha.kernel.subjects import AggregateKey
from fastapi import APIRouter, Query
from pydantic import Field

from ..domain.accountability import DecisionInput, decide_accountability
from ..read import queries
from ..read.projection import NAME
from ..read.scope import Scope
from .common import problem_facts

router = APIRouter(tags=["accountability"])
IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class DecisionBody(RequestBody):
    kind: DecisionKind
    problem_id: IdStr | None = Field(default=None, description="the problem concerned (its unit is implied)")
    unit_id: IdStr | None = Field(default=None, description="the unit concerned, when no problem is named")
    person_name: str = Field(default="", max_length=128)
    basis: str = Field(min_length=1, max_length=4000, description="依据")
    decision: str = Field(min_length=1, max_length=4000, description="处理决定")


@router.post("/v1/decisions", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="record an accountability or tolerance decision (cadre supervision only)")
async def decide(body: DecisionBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_role(ctx.actor, Role.CADRE, doing="record accountability or tolerance (干部监督管理部门)")
    facts = await problem_facts(kernel, body.problem_id) if body.problem_id else None
    known = True
    if facts is None and body.unit_id:
        known = await read(queries.unit_known, kernel.engine, body.unit_id)
        if not known:
            await require_caught_up(kernel, f"unit {body.unit_id}", (NAME,))
            known = await read(queries.unit_known, kernel.engine, body.unit_id)
    unit = facts.unit_id if facts else body.unit_id
    inp = DecisionInput(body.kind, body.unit_id, body.problem_id, body.person_name, body.basis, body.decision)
    key = AggregateKey("verification", "decision", derived_id("decision", ctx.command_id), unit)
    result = await kernel.commands.run(key, ctx, lambda loaded: decide_accountability(
        loaded, ctx.actor, inp, facts, known))
    return command_answer(result)


@router.get("/v1/decisions", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="accountability and tolerance decisions (scoped to the reader)")
async def list_decisions(actor: CurrentActor, kernel: KernelDep,
                         unit_id: Annotated[str | None, Query()] = None,
                         problem_id: Annotated[str | None, Query()] = None,
                         round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    rows = await read(queries.list_decisions, kernel.engine, Scope.of(actor), unit_id, problem_id,
                      round_id)
    return {"decisions": rows}
