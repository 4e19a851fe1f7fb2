"""历史状态: pick a moment (a date, or a published bulletin) and see the dashboard and the ledger as
they were then (`ducha_web.asof`). Office and cadre supervision."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from ducha.contracts.base import Role
from ducha.kernel.calendar import CITY_TZ
from ducha.kernel.subjects import AggregateKey
from fastapi import Request
from fastapi.responses import Response

from ..runtime import get_web, render, require_session
from ..services import ApiError
from .common import redirect, router

r = router()
ROLES = (Role.OFFICE, Role.CADRE)


async def _sequence_at(web: Any, moment: datetime) -> int:
    from ducha.audit.replay import sequence_at

    return await sequence_at(web.kernel.store, moment)


async def _bulletin_sequence(web: Any, bulletin_id: str) -> int:
    subject = AggregateKey("notify", "bulletin", bulletin_id).subject("BulletinPublished")
    raw = await web.kernel.store.js.get_last_msg(web.kernel.store.stream, subject)
    return int(raw.seq or 0)


@r.get("/asof", include_in_schema=False)
async def pick(request: Request, day: str = "", bulletin: str = "", to: str = "dashboard") -> Response:
    session = await require_session(request)
    if session.actor.role not in ROLES:
        raise ApiError(403, "forbidden", "只有领导小组办公室和干部监督管理部门可以查看历史状态")
    web = await get_web(request)
    target = "/ledger" if to == "ledger" else "/dashboard"
    if web.kernel is None:
        raise ApiError(503, "unavailable", "历史状态需要工作台连接事件日志")
    try:
        if bulletin:
            AggregateKey("notify", "bulletin", bulletin)  # checks the id
            return redirect(f"{target}?as_of={await _bulletin_sequence(web, bulletin)}")
        if day:
            end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), CITY_TZ)
            return redirect(f"{target}?as_of={await _sequence_at(web, end)}")
    except ValueError:
        return redirect("/asof", "日期或通报不正确", "err")
    except Exception as exc:
        if exc.__class__.__name__ == "NotFoundError":
            return redirect("/asof", "该通报尚未发布", "err")
        raise
    bulletins = await web.services.get("notify", "/v1/bulletins", session.token)
    items = bulletins.get("items", bulletins) if isinstance(bulletins, dict) else bulletins
    published = [b for b in items or [] if b.get("status") == "published"]
    return await render(request, "asof.html", session, "asof", bulletins=published,
                        today=web.today().isoformat())
