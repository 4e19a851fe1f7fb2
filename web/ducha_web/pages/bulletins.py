"""Bulletins (通报): the office drafts one from a round's statistics, previews and publishes it,
through notify's API; anyone, signed in or not, reads the published ones (and their .docx).

notify renders a bulletin itself (HTML, .docx), from the immutable published event: the workbench
shows that rendering in a sandboxed frame rather than rendering it a second way."""

from __future__ import annotations

from typing import Any

from ducha.contracts.base import Role
from fastapi import Request
from fastapi.responses import Response

from .. import backend
from ..labels import error_text
from ..runtime import check_csrf, get_web, render, require_session, session_of
from ..services import ApiError
from .common import clear_flash, redirect, router, take_flash

r = router()


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for k in ("items", "bulletins"):
            if isinstance(body.get(k), list):
                return list(body[k])
    return []


@r.get("/bulletins", include_in_schema=False)
async def office_list(request: Request, seq: int | None = None) -> Response:
    session = await require_session(request)
    if session.actor.role != Role.OFFICE:
        return redirect("/public/bulletins")
    web = await get_web(request)
    error = ""
    try:
        bulletins = _items(await web.services.get("notify", "/v1/bulletins", session.token, min_sequence=seq))
    except ApiError as exc:
        if exc.status == 401:
            raise
        bulletins, error = [], error_text(exc.status, exc.message)
    rounds = await backend.rounds(web.services, session.token)
    ctx = take_flash(request)
    resp = await render(request, "bulletins.html", session, "bulletins", bulletins=list(reversed(bulletins)),
                        rounds=rounds, error=error, **ctx)
    return clear_flash(resp, ctx)


@r.post("/bulletins", include_in_schema=False)
async def draft(request: Request) -> Response:
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    body: dict[str, Any] = {"round_id": str(form.get("round_id") or ""), "intro": str(form.get("intro") or "")}
    if str(form.get("title") or "").strip():
        body["title"] = str(form.get("title")).strip()
    if form.get("bulletin_id"):
        body["bulletin_id"] = str(form.get("bulletin_id"))
    try:
        out = await web.services.post("notify", "/v1/bulletins", session.token, body,
                                      idempotency_key=str(form.get("_idem") or "") or None)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return redirect("/bulletins", error_text(exc.status, exc.message), "err")
    return redirect(f"/bulletins/{out['bulletin_id']}?seq={out.get('sequence', '')}", "通报草稿已生成，请预览后发布")


async def _find(web: Any, token: str, bid: str, seq: int | None) -> dict[str, Any]:
    for b in _items(await web.services.get("notify", "/v1/bulletins", token, min_sequence=seq)):
        if b.get("id") == bid:
            return b
    raise ApiError(404, "not_found", "no bulletin")


@r.get("/bulletins/{bid}", include_in_schema=False)
async def preview(request: Request, bid: str, seq: int | None = None) -> Response:
    session = await require_session(request)
    web = await get_web(request)
    b = await _find(web, session.token, bid, seq)
    if b.get("status") == "published":
        html = await web.services.get("notify", f"/v1/public/bulletins/{bid}", None)
    else:
        html = await web.services.get("notify", f"/v1/bulletins/{bid}/preview", session.token)
    ctx = take_flash(request)
    resp = await render(request, "bulletin.html", session, "bulletins", b=b, html=str(html), preview=True,
                        rounds=await backend.rounds(web.services, session.token), **ctx)
    return clear_flash(resp, ctx)


@r.post("/bulletins/{bid}/publish", include_in_schema=False)
async def publish(request: Request, bid: str) -> Response:
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    try:
        out = await web.services.post("notify", f"/v1/bulletins/{bid}/publish", session.token, {},
                                      idempotency_key=str(form.get("_idem") or "") or None)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return redirect(f"/bulletins/{bid}", error_text(exc.status, exc.message), "err")
    return redirect(f"/public/bulletins/{bid}?seq={out.get('sequence', '')}",
                    f"通报已发布（第 {out.get('number')} 期）")


# ------------------------------------------------------------------------------- public
@r.get("/public/bulletins", include_in_schema=False)
async def public_list(request: Request) -> Response:
    session = await session_of(request)
    web = await get_web(request)
    error = ""
    try:
        bulletins = _items(await web.services.get("notify", "/v1/public/bulletins", None))
    except ApiError as exc:
        bulletins, error = [], error_text(exc.status, exc.message)
    ctx = take_flash(request)
    resp = await render(request, "public_bulletins.html", session, "public", bulletins=list(reversed(bulletins)),
                        error=error, **ctx)
    return clear_flash(resp, ctx)


@r.get("/public/bulletins/{bid}", include_in_schema=False)
async def public_one(request: Request, bid: str, seq: int | None = None) -> Response:
    session = await session_of(request)
    web = await get_web(request)
    html = await web.services.get("notify", f"/v1/public/bulletins/{bid}", None, min_sequence=seq)
    meta = next((b for b in _items(await web.services.get("notify", "/v1/public/bulletins", None))
                 if b.get("id") == bid), {"id": bid})
    ctx = take_flash(request)
    resp = await render(request, "bulletin.html", session, "public", b=meta, html=str(html), preview=False, **ctx)
    return clear_flash(resp, ctx)


@r.get("/public/bulletins/{bid}/docx", include_in_schema=False)
async def public_docx(request: Request, bid: str) -> Response:
    web = await get_web(request)
    resp = await web.services.request("notify", "GET", f"/v1/public/bulletins/{bid}/docx", None, raw=True)
    return Response(resp.content, media_type=resp.headers.get("content-type", "application/octet-stream"),
                    headers={"Content-Disposition": resp.headers.get("content-disposition",
                                                                     f'attachment; filename="bulletin-{bid}.docx"')})
