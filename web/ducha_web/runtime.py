"""The workbench's runtime (settings, service client, token minter, templates), the page route
class that turns service errors into pages, and the session helpers every page uses."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from ducha.contracts.base import Actor, Role
from ducha.kernel.calendar import city_today
from ducha.kernel.clock import SystemClock
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from . import labels
from .auth import AccountDirectory, Oidc, TokenMinter
from .city import ROLE_ZH
from .evidence import EvidenceStore, make_store
from .figures import FigureCache
from .queues import QueueCache
from .services import ApiError, Services
from .session import COOKIE, Session, SessionCodec, load_secret
from .settings import WebSettings, load_settings

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel
    from sqlalchemy import Engine

log = logging.getLogger("ducha.web")
HERE = Path(__file__).parent


class Web:
    """Created once per process (lazily on the first request, or by the app's lifespan)."""

    def __init__(self, settings: WebSettings, transport: Any = None) -> None:
        self.settings = settings
        self.services = Services(settings.service_urls(), settings.request_timeout, transport=transport)
        self.minter = TokenMinter(settings)
        self.codec = SessionCodec(load_secret(settings.session_secret, settings.key_dir),
                                  int(settings.session_hours * 3600))
        self.directory = AccountDirectory(self.services, self.minter)
        self.oidc = Oidc(settings, self.services.http) if settings.auth == "oidc" else None
        self.evidence: EvidenceStore = make_store(settings)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters.update(labels.filters())
        env.globals.update(ROLE_ZH=ROLE_ZH, STATUS_ZH=labels.STATUS_ZH, LIGHT_ZH=labels.LIGHT_ZH,
                           SEVERITY_ZH=labels.SEVERITY_ZH, settings=settings, new_key=lambda: uuid.uuid4().hex)
        self.trend: Engine | None = None  # the trend projection's tables, when running as a kernel service
        self.kernel: Kernel | None = None  # when running as a kernel service (the log: audit timeline, as-of)
        self.figures = FigureCache()
        self.queues = QueueCache()

    async def aclose(self) -> None:
        await self.services.aclose()

    def today(self) -> date:
        """The city's date (Beijing), on the kernel's clock when running as a kernel service."""
        return city_today(self.kernel.clock if self.kernel is not None else SystemClock())


_LOCK = asyncio.Lock()


async def get_web(request: Request) -> Web:
    web: Web | None = getattr(request.app.state, "web", None)
    if web is None:
        async with _LOCK:
            web = getattr(request.app.state, "web", None)
            if web is None:
                kernel: Kernel | None = getattr(request.app.state, "kernel", None)  # absent: stand-alone app
                web = kernel.extras.get("web") if kernel is not None else None
                if web is None:
                    web = Web(load_settings())
                    if kernel is not None:
                        attach(web, kernel)
                request.app.state.web = web
    return await _as_of(request, web)


async def _as_of(request: Request, web: Web) -> Web:
    """`?as_of=N`: the read-only view of the workbench at log sequence N (ducha_web.asof)."""
    from . import asof

    cached = getattr(request.state, "as_of_web", None)
    if cached is not None:
        return cast(Web, cached)
    sequence = asof.requested_sequence(request)
    if sequence is None:
        return web
    view = asof.view(web, sequence, await asof.moment_of(web, sequence))
    request.state.as_of_web = view
    return cast(Web, view)
    return web


def attach(web: Web, kernel: Kernel) -> None:
    """Running as a kernel service: the trend projection's tables and the log are there."""
    kernel.extras["web"] = web
    web.trend = kernel.engine
    web.kernel = kernel


# ------------------------------------------------------------------------------ errors → pages
class LoginRequired(Exception):
    pass


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class PageRoute(APIRoute):
    """Every page: a service's refusal becomes a page (or a redirect to sign-in), whatever app the
    routes are mounted in (the kernel's app answers JSON errors; pages must not)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except Redirect as r:
                return RedirectResponse(r.url, status_code=303)
            except ApiError as exc:
                if exc.status == 401:
                    resp = login_redirect(request)
                    resp.delete_cookie(COOKIE, path="/")
                    return resp
                if exc.code == "as_of_building":  # a past moment being rebuilt: progress, then the page
                    web = await get_web(request)
                    return web.templates.TemplateResponse(request, "asof_building.html", {
                        "session": None, "actor": None, "nav": [], "csrf": "", "progress": exc.details},
                        status_code=202)
                return await error_page(request, exc.status, labels.error_text(exc.status, exc.message))

        return route


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    web = await get_web(request)
    session = web.codec.loads(request.cookies.get(COOKIE))
    status = status if status in (400, 403, 404, 409, 422, 503) else 502
    return web.templates.TemplateResponse(
        request, "error.html", {"session": session, "actor": session.actor if session else None, "csrf": session.csrf if session else "",
                                "status": status, "message": message, "nav": nav_for(session)},
        status_code=status)


# ---------------------------------------------------------------------------------- sessions
async def session_of(request: Request) -> Session | None:
    web = await get_web(request)
    return web.codec.loads(request.cookies.get(COOKIE))


async def require_session(request: Request) -> Session:
    session = await session_of(request)
    if session is None:
        raise LoginRequired()
    return session


def check_csrf(session: Session, form: Any) -> None:
    import secrets

    sent = str(form.get("_csrf", ""))
    if not sent or not secrets.compare_digest(sent, session.csrf):
        raise ApiError(403, "csrf", "表单已过期，请刷新页面后重试")


NAV = [
    ("dashboard", "/dashboard", "工作台", (Role.OFFICE, Role.CADRE, Role.TEAM)),
    ("unit", "/unit", "本单位", (Role.UNIT,)),
    ("helper", "/helper", "帮扶事项", (Role.HELPER,)),
    ("ledger", "/ledger", "问题台账", (Role.OFFICE, Role.CADRE, Role.TEAM, Role.UNIT, Role.HELPER)),
    ("report", "/problems/new", "上报问题", (Role.TEAM,)),
    ("bulletins", "/bulletins", "通报", (Role.OFFICE,)),
    ("import", "/import", "导入", (Role.OFFICE, Role.TEAM)),
    ("public", "/public/bulletins", "公开通报", (Role.OFFICE, Role.CADRE, Role.TEAM, Role.UNIT, Role.HELPER,
                                                Role.AUDITOR)),
    ("asof", "/asof", "历史状态", (Role.OFFICE, Role.CADRE)),
    ("audit", "/audit", "审计核查", (Role.OFFICE, Role.AUDITOR)),
]


def nav_for(session: Session | None) -> list[tuple[str, str, str]]:
    if session is None:
        return [("public", "/public/bulletins", "公开通报")]
    return [(key, url, label) for key, url, label, roles in NAV if session.actor.role in roles]


def home_of(actor: Actor) -> str:
    return {Role.UNIT: "/unit", Role.HELPER: "/helper", Role.AUDITOR: "/audit"}.get(actor.role, "/dashboard")


async def render(request: Request, template: str, session: Session | None, active: str = "",
                 status_code: int = 200, **ctx: Any) -> Response:
    web = await get_web(request)
    todo_total = None
    if session is not None and "queues" not in ctx:
        try:
            todo_total = sum(q.count for q in await web.queues.get(web.services, session.token, session.actor))
        except ApiError as exc:
            if exc.status == 401:
                raise
    elif session is not None:
        todo_total = sum(q.count for q in ctx["queues"])
    return web.templates.TemplateResponse(
        request, template,
        {"session": session, "actor": session.actor if session else None, "nav": nav_for(session),
         "active": active, "csrf": session.csrf if session else "", "todo_total": todo_total,
         "as_of": getattr(getattr(request.state, "as_of_web", None), "moment", None), **ctx},
        status_code=status_code)
