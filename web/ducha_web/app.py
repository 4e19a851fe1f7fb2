"""The workbench app: `create_web_app()` for uvicorn and tests, `spec()` so that `ducha run` (via
`python -m ducha.kernel.serve web`) starts it with the services.

As a kernel service the workbench has no aggregates; it uses the kernel only for the common
ops endpoints (/health, /ready, /metrics) and one small projection of its own, the dashboard's
trend (counts per day), which no service offers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ducha.kernel.headers import SecurityHeadersMiddleware
from ducha.kernel.limits import BodyLimitMiddleware, BodyLimits
from ducha.kernel.service import Kernel, ServiceSpec
from fastapi import APIRouter, FastAPI

from .settings import WebSettings, load_settings

TITLE = "Ducha web workbench (督查工作台)"

# The workbench's pages load only their own script and styles (inline style attributes are used by
# the templates); forms post only to it; no page may be framed (clickjacking of action forms).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def routers() -> Sequence[APIRouter]:
    from .pages import (
        asof,
        audit,
        auth,
        bulletins,
        dashboard,
        evidence,
        imports,
        ledger,
        problem,
        static,
        unit,
    )

    return [static.r, auth.r, dashboard.r, ledger.r, problem.r, unit.r, bulletins.r, evidence.r, audit.r, imports.r,
            asof.r, static.fallback]


def projections() -> Sequence[Any]:
    from .trend import TrendProjection

    return [TrendProjection()]


async def _runtime(kernel: Kernel) -> None:
    """Background job of the kernel service: close the workbench's HTTP client at stop."""
    try:
        await asyncio.Event().wait()  # until the service stops (cancelled)
    finally:
        web = kernel.extras.get("web")
        if web is not None:
            await web.aclose()


def spec() -> ServiceSpec:
    """The workbench as a kernel service: its settings read once when the app is created (a wrong
    one stops the start, naming it), its runtime attached to the kernel at start."""
    loaded: list[WebSettings] = []

    def preflight() -> None:
        loaded[:] = [load_settings()]  # raises SystemExit naming what is missing (e.g. no sign-in)

    async def startup(kernel: Kernel) -> None:
        from .runtime import Web, attach

        attach(Web(loaded[0] if loaded else load_settings()), kernel)

    return ServiceSpec(
        name="web",
        title=TITLE,
        default_port=8100,
        description="One URL for every role: the office's dashboard, the ledger, problem pages with the "
                    "actions each person may take, the unit view and bulletins. Calls the four services "
                    "with the signed-in person's token.",
        projections=projections,
        routers=routers,
        background=[_runtime],
        startup=startup,
        response_headers=PAGE_HEADERS,
        preflight=preflight,
        start_order=900,  # `ducha run`: after the services it calls
        demo_env={"DUCHA_WEB_AUTH": "demo"},
        demo_module="ducha_web.demo",
        run_skip=_run_skip,
        run_banner=_run_banner,
    )


def _run_skip(env: Mapping[str, str]) -> str | None:
    """`ducha run` starts the workbench only with a sign-in method (passwordless demo only when asked)."""
    if env.get("DUCHA_WEB_AUTH"):
        return None
    return "no sign-in configured (`./dev.sh up --demo` for demo accounts, or set DUCHA_WEB_AUTH=oidc|demo)"


def _run_banner(url: str, demo: bool) -> str:
    return (f"Sign in to the workbench (督查工作台): {url}/login"
            + ("  — pick a demo account, e.g. 王志强 (领导小组办公室)" if demo else ""))


def create_web_app(settings: WebSettings | None = None, transport: Any = None) -> FastAPI:
    """A stand-alone workbench (no NATS): for `uvicorn --factory ducha_web.app:create_web_app` and
    the fast tests (`transport` replaces the network to the services)."""
    from .runtime import Web

    resolved = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.web = Web(resolved, transport=transport)
        try:
            yield
        finally:
            await app.state.web.aclose()

    app = FastAPI(title=TITLE, lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "web"}

    for router in routers():
        app.include_router(router)
    upload_bytes = (resolved.evidence_max_mb + 1) * 1024 * 1024  # the file plus the form around it
    app.add_middleware(SecurityHeadersMiddleware, headers=PAGE_HEADERS)
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits(upload_bytes=upload_bytes))
    return app
