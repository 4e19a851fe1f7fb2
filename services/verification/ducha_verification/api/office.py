"""The office's spot checks (抽查) and re-checks (调查复核)."""

from __future__ import annotations

from typing import Annotated, Any

from ducha.contracts import Role
from ducha.contracts.common import EvidenceRef
from ducha.contracts.verification import RecheckStatus
from ducha.kernel.clock import derived_id
from ducha.kernel.errors import NotFound
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
from ducha.kernel.runtime import Kernel
from ducha.kernel.subjects import AggregateKey
from fastapi import APIRouter, Path, Query
from pydantic import Field

from ..domain.recheck import RecheckHeader, RecheckItem, decide_recheck
from ..domain.spotcheck import MAX_SEED, Population, decide_draw, decide_finding, require_office, seed_from
from ..read import queries
from ..read.projection import NAME
from ..read.scope import Scope
from .common import problem_facts

router = APIRouter(tags=["spot checks and re-checks"])
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def spotcheck_key(spotcheck_id: str) -> AggregateKey:
    return AggregateKey("verification", "spotcheck", spotcheck_id, None)


def recheck_key(recheck_id: str) -> AggregateKey:
    return AggregateKey("verification", "recheck", recheck_id, None)


class DrawBody(RequestBody):
    round_id: IdStr
    sample_size: int = Field(ge=1, le=10_000, description="clamped to the population size")
    population: Population = Population.WRITTEN_OFF
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="default: derived from the command id")


class FindingBody(RequestBody):
    problem_id: IdStr
    confirmed: bool = Field(description="the claimed result holds on site")
    findings: str = Field(min_length=1, max_length=4000)
    evidence: list[EvidenceRef] = Field(default_factory=list)


class RecheckItemBody(RequestBody):
    problem_id: IdStr
    status: RecheckStatus
    detail: str = Field(min_length=1, max_length=4000, description="reason not done / how far / confirmed result")


class RecheckBody(RequestBody):
    round_id: IdStr
    subject: str = Field(min_length=1, max_length=200, description="the important matter re-checked")
    means: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default=[], description="e.g. 实地核查")
    items: list[RecheckItemBody] = Field(min_length=1)


class RecheckItemsBody(RequestBody):
    items: list[RecheckItemBody] = Field(min_length=1)


@router.post("/v1/spotchecks", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="draw a reproducible random sample of a round's written-off problems or achievements")
async def draw(body: DrawBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_office(ctx.actor, "draw a spot check")
    await require_caught_up(kernel, "the whole log", (NAME,))  # the population is what the whole log says now
    population = await read(queries.population, kernel.engine, body.round_id, body.population.value)
    seed = body.seed if body.seed is not None else seed_from(ctx.command_id)
    key = spotcheck_key(derived_id("spotcheck", ctx.command_id))
    result = await kernel.commands.run(key, ctx, lambda loaded: decide_draw(
        loaded, ctx.actor, body.round_id, body.population, population, body.sample_size, seed))
    return command_answer(result)


@router.post("/v1/spotchecks/{spotcheck_id}/findings", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="record the on-site finding for one sampled problem")
async def finding(spotcheck_id: Id, body: FindingBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    result = await kernel.commands.run(spotcheck_key(spotcheck_id), ctx, lambda loaded: decide_finding(
        loaded, ctx.actor, body.problem_id, body.confirmed, body.findings, tuple(body.evidence)))
    return command_answer(result)


@router.get("/v1/spotchecks", dependencies=[ReadAfter], responses=QUERY_ERRORS, summary="spot checks drawn")
async def list_spotchecks(actor: CurrentActor, kernel: KernelDep,
                          round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    require_role(actor, Role.OFFICE, Role.CADRE)
    return {"spotchecks": await read(queries.list_spotchecks, kernel.engine, round_id)}


@router.get("/v1/spotchecks/{spotcheck_id}", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="a spot check: seed, population, sample and findings (units and teams: their items)")
async def get_spotcheck(spotcheck_id: Id, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    view = await read(queries.spotcheck_view, kernel.engine, spotcheck_id, Scope.of(actor))
    if view is None:
        raise NotFound(f"no spot check {spotcheck_id}")
    return view


async def _rounds_of(kernel: Kernel, items: list[RecheckItemBody]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        facts = await problem_facts(kernel, item.problem_id)
        out[item.problem_id] = facts.round_id
    return out


def _items(items: list[RecheckItemBody]) -> list[RecheckItem]:
    return [RecheckItem(i.problem_id, i.status, i.detail) for i in items]


@router.post("/v1/rechecks", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="record a re-check (调查复核) and classify its items")
async def recheck(body: RecheckBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_office(ctx.actor, "record a re-check")
    rounds = await _rounds_of(kernel, body.items)
    header = RecheckHeader(body.round_id, body.subject, tuple(body.means))
    key = recheck_key(derived_id("recheck", ctx.command_id))
    result = await kernel.commands.run(key, ctx, lambda loaded: decide_recheck(
        loaded, ctx.actor, header, _items(body.items), rounds))
    return command_answer(result)


@router.post("/v1/rechecks/{recheck_id}/items", response_model=CommandAnswer, responses=COMMAND_ERRORS,
             summary="classify more items of a re-check")
async def recheck_items(recheck_id: Id, body: RecheckItemsBody, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_office(ctx.actor, "record a re-check")
    rounds = await _rounds_of(kernel, body.items)
    result = await kernel.commands.run(recheck_key(recheck_id), ctx, lambda loaded: decide_recheck(
        loaded, ctx.actor, None, _items(body.items), rounds))
    return command_answer(result)


@router.get("/v1/rechecks", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="re-check items (scoped to the reader)")
async def list_rechecks(actor: CurrentActor, kernel: KernelDep,
                        round_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    items = await read(queries.recheck_items_of, kernel.engine, Scope.of(actor), None, round_id)
    return {"items": items}


@router.get("/v1/rechecks/{recheck_id}", dependencies=[ReadAfter], responses=QUERY_ERRORS,
            summary="one re-check with its classified items (scoped to the reader)")
async def get_recheck(recheck_id: Id, actor: CurrentActor, kernel: KernelDep) -> dict[str, Any]:
    items = await read(queries.recheck_items_of, kernel.engine, Scope.of(actor), recheck_id)
    if not items:
        raise NotFound(f"no re-check {recheck_id}")
    first = items[0]
    return {"recheck_id": recheck_id, "round_id": first["round_id"], "subject": first["subject"],
            "means": first["means"], "items": items}
