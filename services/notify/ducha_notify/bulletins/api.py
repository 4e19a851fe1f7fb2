"""HTTP API of bulletins (office: draft, preview, publish) and the public pages (no sign-in):
published bulletins (HTML, .docx) and the problems they made public."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ducha.contracts import Role
from ducha.contracts.notify import AuditCheckpointRef, BulletinContent, BulletinPublished
from ducha.disclosure import Viewer, may_see_problem
from ducha.kernel.calendar import city_today
from ducha.kernel.clock import derived_id
from ducha.kernel.errors import InvalidCommand, NotFound
from ducha.kernel.http import (
    COMMAND_ERRORS,
    QUERY_ERRORS,
    Command,
    CommandAnswer,
    CurrentActor,
    KernelDep,
    PathId,
    ReadAfter,
    RequestBody,
    command_answer,
    require_role,
)
from ducha.kernel.lookup import require_caught_up
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from sqlalchemy import Connection, select

from ..db import query
from ..directory.projection import DirectoryProjection
from ..directory.queries import problem
from ..directory.tables import problems, rounds, units
from ..directory.visibility import row_facts
from ..runtime import runtime
from . import domain as b
from .queries import published
from .render import render_docx, render_html
from .tables import bulletins
from .tables import public_problems as made_public

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

router = APIRouter(prefix="/v1", tags=["bulletins"], responses=QUERY_ERRORS)


class DraftBulletin(RequestBody):
    round_id: str
    title: str | None = Field(default=None, max_length=200)
    intro: str = Field(default="", max_length=4000)
    bulletin_id: str | None = Field(default=None, description="re-draft an existing draft from fresh statistics")


class Drafted(CommandAnswer):
    bulletin_id: str = Field(description="deprecated: the same as `id`")
    content: dict[str, Any]


class Published(CommandAnswer):
    bulletin_id: str = Field(description="deprecated: the same as `id`")
    number: int
    issued_on: str


@router.post("/bulletins", status_code=201, response_model=Drafted, responses=COMMAND_ERRORS, summary="draft a bulletin for a round from the statistics (office)")
async def draft(body: DraftBulletin, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_role(ctx.actor, Role.OFFICE, doing="draft a bulletin")
    settings = runtime(kernel).settings
    # The statistics are what the whole log says now; 503 (not 500) when they cannot catch up.
    await require_caught_up(kernel, "the round's statistics", (DirectoryProjection.name,), timeout=10)

    def compute(conn: Connection) -> BulletinContent:
        rnd = conn.execute(select(rounds).where(rounds.c.id == body.round_id)).mappings().first()
        if rnd is None:
            raise InvalidCommand(f"no round {body.round_id}", field="round_id")
        rows = [dict(r) for r in conn.execute(select(problems).where(problems.c.round_id == body.round_id)).mappings()]
        names = {r.id: r.name for r in conn.execute(select(units.c.id, units.c.name))}
        title = body.title or f"关于{rnd['name']}问题整改情况的通报"
        return b.compute_content(rows, names, body.round_id, rnd["name"], title, settings.issuer_name, body.intro,
                                 settings.poor_rate_percent)

    content = await query(kernel, compute)
    bid = body.bulletin_id or derived_id("bulletin", ctx.command_id)[:32]
    result = await kernel.commands.run(b.bulletin_key(bid), ctx, lambda loaded: b.decide_draft(loaded, content))
    return {**command_answer(result, bid), "bulletin_id": bid, "content": content.model_dump(mode="json")}


@router.get("/bulletins", summary="drafts and published bulletins (office)", dependencies=[ReadAfter])
async def list_all(actor: CurrentActor, kernel: KernelDep) -> list[dict[str, Any]]:
    require_role(actor, Role.OFFICE, Role.CADRE, Role.SYSTEM)
    cols = [bulletins.c[k] for k in ("id", "round_id", "status", "title", "number", "issued_on", "sequence")]
    return await query(kernel, lambda conn: [dict(r) for r in conn.execute(
        select(*cols).order_by(bulletins.c.sequence)).mappings()])


@router.get("/bulletins/{bid}/preview", response_class=HTMLResponse, summary="preview a draft as HTML (office)",
            dependencies=[ReadAfter])
async def preview(bid: PathId, actor: CurrentActor, kernel: KernelDep) -> HTMLResponse:
    require_role(actor, Role.OFFICE, Role.SYSTEM)
    raw = await query(kernel, lambda conn: conn.execute(select(bulletins.c.draft).where(bulletins.c.id == bid)).scalar_one_or_none())
    if raw is None:
        raise NotFound(f"no bulletin {bid}")
    content = BulletinContent.model_validate_json(raw)
    today = city_today(kernel.clock)
    return HTMLResponse(render_html(BulletinPublished(number=1, issued_on=today, content=content)).replace(
        "第1期", "第（待定）期（草稿预览）"))


@router.post("/bulletins/{bid}/publish", response_model=Published, responses=COMMAND_ERRORS, summary="publish a draft: immutable, numbered (office)")
async def publish(bid: PathId, ctx: Command, kernel: KernelDep) -> dict[str, Any]:
    require_role(ctx.actor, Role.OFFICE, doing="publish a bulletin")
    today = city_today(kernel.clock)
    checkpoint = await _latest_checkpoint(kernel)
    result = await kernel.commands.run_multi([b.bulletin_key(bid), b.SERIES], ctx,
                                             lambda loaded: b.decide_publish(loaded, bid, today, checkpoint))
    event = result.payload(BulletinPublished)
    return {**command_answer(result, bid), "bulletin_id": bid, "number": event.number,
            "issued_on": event.issued_on.isoformat()}


# ------------------------------------------------------------------- public
async def _latest_checkpoint(kernel: Kernel) -> AuditCheckpointRef | None:
    """The audit checkpoint latest now, to print on the bulletin (none before the first one)."""
    from ducha.audit.checkpoint import last_checkpoint
    from nats.js.errors import NotFoundError

    try:
        cp = await last_checkpoint(kernel.nc.jetstream())
    except NotFoundError:  # no audit stream yet
        return None
    if cp is None:
        return None
    return AuditCheckpointRef(up_to_sequence=cp.up_to_sequence, chain_hash=cp.chain_hash, recorded_at=cp.recorded_at)


async def _published(kernel: Kernel, bid: str) -> BulletinPublished:
    found = await query(kernel, lambda conn: published(conn, bid))
    if found is None:
        raise NotFound(f"no published bulletin {bid}")
    return found


@router.get("/public/bulletins", tags=["public"], summary="published bulletins (no sign-in)", dependencies=[ReadAfter])
async def public_list(kernel: KernelDep) -> list[dict[str, Any]]:
    cols = [bulletins.c[k] for k in ("id", "title", "number", "issued_on")]
    return await query(kernel, lambda conn: [dict(r) for r in conn.execute(
        select(*cols).where(bulletins.c.status == "published").order_by(bulletins.c.number)).mappings()])


@router.get("/public/bulletins/{bid}", tags=["public"], response_class=HTMLResponse, summary="a published bulletin (HTML)",
            dependencies=[ReadAfter])
async def public_html(bid: PathId, kernel: KernelDep) -> HTMLResponse:
    return HTMLResponse(render_html(await _published(kernel, bid)))


@router.get("/public/bulletins/{bid}/docx", tags=["public"], summary="a published bulletin (.docx)",
            dependencies=[ReadAfter])
async def public_docx(bid: PathId, kernel: KernelDep) -> Response:
    published = await _published(kernel, bid)
    return Response(await asyncio.to_thread(render_docx, published),
                    media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": f'attachment; filename="bulletin-{published.number}.docx"'})


@router.get("/public/problems", tags=["public"], summary="problems made public by published bulletins",
            dependencies=[ReadAfter])
async def public_problems(kernel: KernelDep) -> list[dict[str, Any]]:
    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(made_public).order_by(made_public.c.sequence, made_public.c.problem_id)).mappings()
        out = []
        for r in rows:  # a problem withdrawn since it was published disappears (the policy, now)
            row = problem(conn, r["problem_id"])
            if row is not None and may_see_problem(Viewer(Role.PUBLIC), row_facts(row, published=True)):
                out.append(dict(r))
        return out

    return await query(kernel, read)
