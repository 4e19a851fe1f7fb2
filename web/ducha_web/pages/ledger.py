"""The ledger (台账): filters, sort, search and paging done by the rectification service; the
Excel export gives exactly the rows and columns shown, in the same order."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import quote, urlencode

from ducha.contracts.base import Role
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from .. import backend
from ..excel import chunks, ledger_xlsx_file
from ..labels import LIGHT_ZH, SEVERITY_ZH, STATUS_ORDER, STATUS_ZH, error_text
from ..runtime import check_csrf, get_web, render, require_session
from ..services import ApiError
from .common import clear_flash, redirect, router, safe_next, take_flash

r = router()
SORTS = {"": "默认（红灯优先）", "deadline": "整改时限 ↑", "-deadline": "整改时限 ↓", "-updated": "最近更新",
         "unit": "单位", "-progress": "进度 ↓"}
FILTER_NAMES = ("round_id", "team_id", "unit_id", "category", "status", "light", "severity", "q", "sort", "pending")
PENDING_ZH = {"extension": "待审批延期申请", "help": "待指派帮扶单位", "help_report": "待报告帮扶情况",
              "reminder": "待确认提醒/催办"}


def _filters(request: Request) -> dict[str, str]:
    out = {}
    for name in FILTER_NAMES:
        value = (request.query_params.get(name) or "").strip()
        if value:
            out[name] = value[:100]
    return out


async def _options(web: Any, token: str, role: Role, round_id: str | None) -> dict[str, Any]:
    s = web.services
    rounds, teams, units, caps = await asyncio.gather(
        backend.rounds(s, token),
        backend.teams(s, token, round_id) if role in (Role.OFFICE, Role.CADRE) else asyncio.sleep(0, []),
        backend.units(s, token) if role in (Role.OFFICE, Role.CADRE, Role.TEAM) else asyncio.sleep(0, []),
        backend.query_params(s, "rectification", "/v1/ledger"),
    )
    categories: list[str] = []
    for rd in rounds:
        if not round_id or rd["id"] == round_id:
            for c in rd.get("focus_areas") or []:
                if c not in categories:
                    categories.append(c)
    return {"rounds": rounds, "teams": teams, "units": units, "categories": categories, "caps": caps}


def _service_filters(f: dict[str, str], caps: set[str]) -> dict[str, str]:
    """Only what the service does server-side (never filter or sort a page in the browser)."""
    return {k: v for k, v in f.items() if not caps or k in caps}


FILTER_ZH = {"round_id": "轮次", "team_id": "督查组", "unit_id": "被督查单位", "category": "类别", "status": "状态",
             "light": "红黄绿灯", "severity": "严重程度", "q": "标题/督办编号包含", "sort": "排序", "pending": "待办"}


async def describe_filters(web: Any, session: Any, sent: dict[str, str]) -> str:
    """The filters in words, as the page shows them (never API keys or ids)."""
    if not sent:
        return "全部"
    opts = await _options(web, session.token, session.actor.role, sent.get("round_id"))
    names = {**{rd["id"]: rd.get("name", rd["id"]) for rd in opts["rounds"]},
             **{t["id"]: t.get("name", t["id"]) for t in opts["teams"]},
             **{u["id"]: u.get("name", u["id"]) for u in opts["units"]}}
    words = {"light": LIGHT_ZH, "status": STATUS_ZH, "severity": SEVERITY_ZH, "sort": SORTS, "pending": PENDING_ZH}
    parts = []
    for key, value in sent.items():
        shown = words[key].get(value, value) if key in words else names.get(value, value)
        parts.append(f"{FILTER_ZH.get(key, key)}：{shown}")
    return "；".join(parts)


def pager(result: dict[str, Any], page: int, pages: int) -> dict[str, str | None]:
    """The query strings (after the filters) of the previous and next pages: by the service's keyset
    cursors when it answers them (constant time at any depth), else by page number (offset)."""
    if "next_cursor" in result:
        nxt = result.get("next_cursor")
        prev = result.get("prev_cursor")
        return {"next": urlencode({"cursor": nxt, "page": page + 1}) if nxt else None,
                "prev": (urlencode({"cursor": prev, "page": page - 1}) if prev else
                         urlencode({"page": page - 1}) if page > 1 else None)}
    return {"next": urlencode({"page": page + 1}) if page < pages else None,
            "prev": urlencode({"page": page - 1}) if page > 1 else None}


@r.get("/ledger", include_in_schema=False)
async def ledger_page(request: Request, page: int = 1, cursor: str = "") -> Response:
    session = await require_session(request)
    web = await get_web(request)
    f = _filters(request)
    size = web.settings.page_size
    page = max(1, page)
    opts = await _options(web, session.token, session.actor.role, f.get("round_id"))
    caps = opts["caps"]
    sent = _service_filters(f, caps)
    result, reported = await asyncio.gather(
        backend.ledger(web.services, session.token, sent, size, (page - 1) * size, cursor[:512] or None),
        backend.optional(backend.reported_problems(web.services, session.token, 100, round_id=f.get("round_id")),
                         {"items": [], "total": 0})
        if session.actor.role == Role.TEAM else asyncio.sleep(0, None),
    )
    total = int(result.get("total", 0))
    pages = max(1, (total + size - 1) // size)
    query = urlencode({**f, **({"as_of": request.query_params["as_of"]} if "as_of" in request.query_params else {})})
    ctx = take_flash(request)
    resp = await render(
        request, "ledger.html", session, "ledger", f=f, result=result, total=total, page=page, pages=pages,
        pager=pager(result, page, pages),
        query=query, sorts=SORTS, statuses=STATUS_ORDER + ["withdrawn", "duplicate"],
        ignored=[k for k in f if k not in sent], reported=reported, status_zh=STATUS_ZH,
        light_zh=LIGHT_ZH, severity_zh=SEVERITY_ZH, pending_zh=PENDING_ZH, **opts, **ctx)
    return clear_flash(resp, ctx)


REMIND_MAX = 200  # one click, one page of the ledger at most


@r.post("/ledger/remind", include_in_schema=False)
async def remind_selected(request: Request) -> Response:
    """一键催办: one reminder to each selected problem's unit (the team's or the office's)."""
    session = await require_session(request)
    form = await request.form()
    check_csrf(session, form)
    web = await get_web(request)
    back = str(form.get("back") or "/ledger")
    back = safe_next(back, "/ledger") if back.startswith("/ledger") else "/ledger"
    ids = list(dict.fromkeys(str(v) for v in form.getlist("problem")))[:REMIND_MAX]
    text = str(form.get("text") or "").strip() or "请加快整改进度，按期报送整改材料。"
    if not ids:
        return redirect(back, "请先勾选要催办的问题", "err")
    idem = str(form.get("_idem") or "")

    async def one(pid: str) -> str | None:
        try:
            await web.services.post("rectification", f"/v1/problems/{pid}/reminders", session.token,
                                    {"kind": "reminder", "text": text},
                                    idempotency_key=f"{idem}-{pid}"[:128] if idem else None)
            return None
        except ApiError as exc:
            if exc.status == 401:
                raise
            return error_text(exc.status, exc.message)

    results = await asyncio.gather(*(one(pid) for pid in ids))
    failed = [r for r in results if r is not None]
    web.queues.forget(session.actor)
    if failed:
        return redirect(back, f"已催办 {len(ids) - len(failed)} 项；{len(failed)} 项未能催办：{failed[0]}", "err")
    return redirect(back, f"已催办 {len(ids)} 项")


@r.get("/ledger.xlsx", include_in_schema=False)
async def ledger_export(request: Request) -> Response:
    session = await require_session(request)
    web = await get_web(request)
    f = _filters(request)
    caps = await backend.query_params(web.services, "rectification", "/v1/ledger")
    sent = _service_filters(f, caps)
    described = await describe_filters(web, session, sent)
    today = web.today().isoformat()
    moment = getattr(web, "moment", None)  # as of a past moment (ducha_web.asof)
    title = f"问题台账（{moment.label}，导出于 {today}）" if moment else f"问题台账（导出于 {today}）"
    # page by page from the service into the sheet's temporary file; the response streams the file
    pages = backend.ledger_pages(web.services, session.token, sent, web.settings.export_max_rows)
    body = await ledger_xlsx_file(pages, title, f"筛选条件：{described}")
    name = f"问题台账-{today}.xlsx"
    return StreamingResponse(chunks(body), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             headers={"Content-Disposition": f"attachment; filename=\"ledger-{today}.xlsx\"; "
                                                             f"filename*=UTF-8''{quote(name)}",
                                      "Content-Length": str(os.fstat(body.fileno()).st_size)})
