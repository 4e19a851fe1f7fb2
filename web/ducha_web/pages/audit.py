"""审计核查: the audit page for the office and the auditor (read-only, city-wide). Everything comes
from the audit service's API (`ducha.audit.office`), which records every access in DUCHA_AUDIT: the
latest checkpoint and verified range, the last verification runs (nightly and on demand), the
export files of a unit or a round, the standalone verifier and its guide in Chinese."""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from urllib.parse import quote

from ducha.audit.standalone import standalone_source
from ducha.contracts.base import Role
from fastapi import Request
from fastapi.responses import Response

from .. import backend
from ..labels import error_text
from ..runtime import check_csrf, get_web, render, require_session
from ..services import ApiError
from .common import clear_flash, redirect, router, take_flash

r = router()
AUDIT_ROLES = (Role.OFFICE, Role.AUDITOR)


async def _audit_session(request: Request) -> Any:
    session = await require_session(request)
    if session.actor.role not in AUDIT_ROLES:
        raise ApiError(403, "forbidden", "只有领导小组办公室和审计核查人员可以使用审计核查")
    return session


@r.get("/audit", include_in_schema=False)
async def audit_page(request: Request) -> Response:
    session = await _audit_session(request)
    web = await get_web(request)
    status = await web.services.get("audit", "/v1/audit/status", session.token)
    runs = (await web.services.get("audit", "/v1/audit/verifications", session.token, limit=10))["items"]
    units = await backend.units(web.services, session.token)
    rounds = await backend.rounds(web.services, session.token)
    ctx = take_flash(request)
    resp = await render(request, "audit.html", session, "audit", status=status, runs=runs, units=units,
                        rounds=rounds, **ctx)
    return clear_flash(resp, ctx)


@r.post("/audit/verify", include_in_schema=False)
async def verify_now(request: Request) -> Response:
    session = await _audit_session(request)
    check_csrf(session, await request.form())
    web = await get_web(request)
    try:
        run = await web.services.post("audit", "/v1/audit/verifications", session.token)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return redirect("/audit", error_text(exc.status, exc.message), "err")
    if run.get("ok"):
        return redirect("/audit", f"核查完成：未发现篡改（共 {run['events']} 条记录）")
    return redirect("/audit", f"核查完成：发现 {run['problem_count']} 处问题，详见下方核查记录", "err")


@r.get("/audit/export", include_in_schema=False)
async def download_export(request: Request, unit: str = "", round: str = "") -> Response:
    session = await _audit_session(request)
    web = await get_web(request)
    params = {"unit": unit} if unit else {"round": round}
    resp = await web.services.request("audit", "GET", "/v1/audit/exports", session.token, params=params, raw=True)
    name = f"{'单位' if unit else '轮次'}-{unit or round}-导出.jsonl"
    return Response(resp.content, media_type="application/x-ndjson", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Ducha-Chain-Hash": resp.headers.get("x-ducha-chain-hash", "")})


@r.get("/audit/ducha_verify.py", include_in_schema=False)
async def download_verifier(request: Request) -> Response:
    await _audit_session(request)
    return Response(standalone_source(), media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="ducha_verify.py"'})


@r.get("/audit/guide", include_in_schema=False)
async def guide(request: Request) -> Response:
    session = await _audit_session(request)
    text = files("ducha.audit").joinpath("guide/verifier-zh.md").read_text(encoding="utf-8")
    return await render(request, "audit_guide.html", session, "audit", guide=text)
