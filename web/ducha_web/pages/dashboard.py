"""The dashboard (工作台): per round — status counts, red/yellow/green, overdue list, rates, unit
and team ranking with charts, trend; content waiting for approval; suggestions to handle."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from ducha.contracts.base import Role
from ducha.figures import percent
from fastapi import Form, Request
from fastapi.responses import Response

from .. import backend, charts
from ..excel import ranking_xlsx
from ..labels import STATUS_ZH
from ..runtime import check_csrf, get_web, render, require_session
from ..services import ApiError
from ..trend import METRIC_ZH, read_trend, series
from .common import clear_flash, redirect, router, safe_next, take_flash

r = router()
LIGHT_COLORS = {"red": "#c0392b", "yellow": "#d4a017", "green": "#2e8b57"}


def pick_round(rounds: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    if wanted:
        for rd in rounds:
            if rd["id"] == wanted:
                return rd
    open_rounds = [rd for rd in rounds if rd.get("status") == "open"]
    chosen = open_rounds or rounds
    return chosen[0] if chosen else None


@r.get("/dashboard", include_in_schema=False)
async def dashboard(request: Request, round_id: str | None = None) -> Response:
    session = await require_session(request)
    actor = session.actor
    if actor.role == Role.UNIT:
        return redirect("/unit")
    if actor.role == Role.HELPER:
        return redirect("/helper")
    web = await get_web(request)
    s, token = web.services, session.token
    rounds = await backend.rounds(s, token)
    current = pick_round(rounds, round_id)
    rid = current["id"] if current else None
    f = {"round_id": rid}
    figs, overdue, pending, suggestions, queues = await asyncio.gather(
        web.figures.get(s, actor, token, rid),
        backend.optional(backend.ledger(s, token, {**f, "light": "red"}, 10, 0), {"items": [], "total": 0}),
        backend.pending_contents(s, token, rid),
        backend.open_suggestions(s, token, rid),
        web.queues.get(s, token, actor),
    )
    total, ranking, lights = figs["total"], figs["ranking"], figs["lights"]
    red, yellow, green = lights["red"], lights["yellow"], lights["green"]
    ranking_chart = charts.hbars(
        [(row.get("name") or row["unit_id"], row.get("rectification_rate") or 0.0,
          percent(row.get("rectification_rate"))) for row in ranking[:15]],
        max_value=1.0, title="被督查单位整改率排名（前15）")
    team_rows = figs["teams"]
    team_chart = charts.hbars(
        [(row.get("name") or row.get("team_id", ""), row.get("rectification_rate") or 0.0,
          f"{percent(row.get('rectification_rate'))}（{row.get('written_off', 0)}/{row.get('fed_back', 0)}）")
         for row in team_rows], max_value=1.0, color="#1f4e79", title="督查督导组整改率")
    light_chart = charts.stacked([("红灯", red, LIGHT_COLORS["red"]), ("黄灯", yellow, LIGHT_COLORS["yellow"]),
                                  ("绿灯", green, LIGHT_COLORS["green"])])
    accepted_stage = max(0, int(total.get("fed_back", 0)) - int(total.get("rectifying", 0))
                         - int(total.get("awaiting_review", 0)) - int(total.get("written_off", 0)))
    status_counts = {"rectifying": int(total.get("rectifying", 0)),
                     "submitted": int(total.get("awaiting_review", 0)), "accepted": accepted_stage,
                     "written_off": int(total.get("written_off", 0))}
    status_chart = charts.stacked([(STATUS_ZH[st], n, charts.PALETTE[i + 1]) for i, (st, n)
                                   in enumerate(status_counts.items())])
    trend_chart = None
    if web.trend is not None and rid and actor.role in (Role.OFFICE, Role.CADRE):
        data = await asyncio.to_thread(read_trend, web.trend, rid)
        metrics = ["reported", "fed_back", "submitted", "written_off", "overdue"]
        days, values = series(data, metrics)
        trend_chart = charts.lines(days, values, METRIC_ZH)
    ctx = take_flash(request)
    resp = await render(
        request, "dashboard.html", session, "dashboard", rounds=rounds, current=current, total=total,
        lights={"red": red, "yellow": yellow, "green": green},
        status_counts=status_counts, overdue=overdue, computed_at=figs.get("computed_at"),
        ranking=ranking, ranking_chart=ranking_chart, team_rows=team_rows, team_chart=team_chart,
        light_chart=light_chart, status_chart=status_chart, trend_chart=trend_chart,
        pending=pending, suggestions=suggestions, queues=queues, **ctx)
    return clear_flash(resp, ctx)


@r.get("/dashboard/ranking.xlsx", include_in_schema=False)
async def ranking_export(request: Request, round_id: str | None = None) -> Response:
    """The unit ranking as an Excel sheet: the rows and rates the dashboard shows."""
    session = await require_session(request)
    if session.actor.role not in (Role.OFFICE, Role.CADRE, Role.TEAM):
        raise ApiError(403, "forbidden", "无权导出排名")
    web = await get_web(request)
    current = pick_round(await backend.rounds(web.services, session.token), round_id)
    rid = current["id"] if current else None
    figs = await web.figures.get(web.services, session.actor, session.token, rid)
    title = f"{current['name'] if current else ''}被督查单位整改排名"
    body = await asyncio.to_thread(ranking_xlsx, figs["ranking"], title)
    name = f"{title}.xlsx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=\"ranking.xlsx\"; filename*=UTF-8''{quote(name)}"})


@r.post("/contents/{content_id}/decide", include_in_schema=False)
async def decide_content(request: Request, content_id: str, decision: str = Form(...), note: str = Form(""),
                         back: str = Form("/dashboard")) -> Response:
    session = await require_session(request)
    check_csrf(session, await request.form())
    web = await get_web(request)
    try:
        if decision == "approve":
            await web.services.post("intake", f"/v1/contents/{content_id}/approve", session.token, {"note": note})
            msg = "已审批通过"
        else:
            await web.services.post("intake", f"/v1/contents/{content_id}/return", session.token,
                                    {"reason": note or "请修改后重新报送"})
            msg = "已退回"
    except ApiError as exc:
        if exc.status == 401:
            raise
        from ..labels import error_text

        return redirect(safe_next(back, "/dashboard"), error_text(exc.status, exc.message), "err")
    return redirect(safe_next(back, "/dashboard"), msg)


@r.post("/suggestions/{suggestion_id}/handle", include_in_schema=False)
async def handle_suggestion(request: Request, suggestion_id: str, decision: str = Form(...),
                            note: str = Form(""), back: str = Form("/dashboard")) -> Response:
    session = await require_session(request)
    check_csrf(session, await request.form())
    web = await get_web(request)
    try:
        await web.services.post("intake", f"/v1/suggestions/{suggestion_id}/handle", session.token,
                                {"decision": decision, "note": note})
    except ApiError as exc:
        if exc.status == 401:
            raise
        from ..labels import error_text

        return redirect(safe_next(back, "/dashboard"), error_text(exc.status, exc.message), "err")
    return redirect(safe_next(back, "/dashboard"), f"建议已处理：{decision}")
