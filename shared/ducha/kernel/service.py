"""Bootstrap: the one place where a service's side effects (NATS, database, clock, keys) are wired.

A service describes itself with a `ServiceSpec`; `create_app` turns it into a FastAPI app whose
lifespan connects to NATS, ensures the streams, starts the projection runners and the service's
background tasks. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import nats
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..contracts import registry as event_registry
from ..contracts.base import Actor
from .clock import Clock
from .commands import CommandRunner
from .config import ServiceSettings
from .db import make_engine
from .eventstore import EventStore, ensure_streams
from .headers import SecurityHeadersMiddleware
from .http import ERROR_RESPONSES, CurrentActor, error_response, install_error_handlers
from .identity import TokenVerifier, ensure_local_keys
from .limits import BodyLimitMiddleware, BodyLimits
from .observability import CorrelationMiddleware, metrics_response
from .projection import ProjectionRunner
from .reaction import ReactionRunner
from .revocation import RevocationList, follow, revoked_bucket
from .runtime import Hook, Kernel, ServiceSpec
from .shutdown import ShutdownGate, ShutdownGuard

log = logging.getLogger("ducha.service")

async def start_kernel(
    spec: ServiceSpec,
    settings: ServiceSettings,
    clock: Clock | None = None,
    gate: ShutdownGate | None = None,
) -> Kernel:
    nc = await nats.connect(
        settings.nats_servers,
        name=f"ducha-{spec.name}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )
    js = nc.jetstream(timeout=30)
    for attempt in range(5):
        try:
            await ensure_streams(js, settings.stream_replicas)
            revoked_kv = await revoked_bucket(js, settings.stream_replicas)
            break
        except Exception as exc:
            if attempt == 4:
                raise
            log.warning("creating the streams failed (%r); retrying", exc)
            await asyncio.sleep(1 + attempt)
    store = EventStore(nc, event_registry)
    engine = make_engine(settings.resolved_database_url(), settings.resolved_schema())
    if settings.jwt_public_key_file:
        public_pem = settings.jwt_public_key_file.read_bytes()
    else:
        public_pem = ensure_local_keys(settings.key_dir).public_pem
    if clock is None:
        clock = settings.clock()
        if settings.dev_clock_offset:
            log.warning("development clock: %s runs %s off the real time (DUCHA_DEV_CLOCK_OFFSET)",
                        spec.name, settings.dev_clock_offset)
    revocations = RevocationList()
    kernel = Kernel(
        spec=spec,
        settings=settings,
        nc=nc,
        store=store,
        engine=engine,
        commands=CommandRunner(store, clock, spec.name, gate),
        verifier=TokenVerifier(public_pem, revocations.is_revoked),
        clock=clock,
    )
    kernel.extras["revocations"] = revocations
    kernel.tasks.append(asyncio.create_task(follow(revoked_kv, revocations), name=f"{spec.name}:revocations"))
    try:  # know the tokens revoked so far before answering anyone (bounded: an empty bucket is instant)
        await asyncio.wait_for(revocations.ready.wait(), timeout=10)
    except TimeoutError:
        log.warning("the revoked-token list did not load within 10 s; it keeps loading in the background")
    if spec.startup is not None:
        try:
            await spec.startup(kernel)
        except BaseException:
            for task in kernel.tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await nc.close()
            engine.dispose()
            raise
    for projection in spec.projections():
        runner = ProjectionRunner(engine, store, projection, spec.name)
        await runner.start()
        kernel.runners[projection.name] = runner
    for reaction in spec.reactions():
        reactor = ReactionRunner(kernel, reaction)
        await reactor.start()
        kernel.reactors[reaction.name] = reactor
    for job in spec.background:
        kernel.tasks.append(asyncio.create_task(job(kernel), name=f"{spec.name}:{job.__name__}"))
    return kernel


async def stop_kernel(kernel: Kernel) -> None:
    await cancel_and_wait(kernel.tasks)
    for reactor in kernel.reactors.values():
        await reactor.stop()
    for runner in kernel.runners.values():
        await runner.stop()
    with contextlib.suppress(Exception):
        await kernel.nc.drain()
    kernel.engine.dispose()


async def cancel_and_wait(tasks: Sequence[asyncio.Task[Any]], grace: float = 5.0) -> None:
    """Cancel background tasks and wait a bounded time: on Python 3.11 a cancellation arriving
    while a task's own timeout fires can be swallowed, and an unbounded await would hang the
    shutdown."""
    live = [t for t in tasks if not t.done()]
    for task in live:
        task.cancel()
    if not live:
        return
    _done, pending = await asyncio.wait(live, timeout=grace)
    for task in pending:
        task.cancel()  # once more; then leave it to the loop's shutdown
        log.warning("background task %s did not stop within %.0f s", task.get_name(), grace)


async def readiness(kernel: Kernel, max_lag: int) -> tuple[bool, dict[str, Any]]:
    """What `/ready` answers: ready when NATS answers, every projection is caught up (within
    `max_lag` events) and no projection or reaction is paused at an event too new for this
    version (`reasons` then names each, with the sequence and event type)."""
    last = -1
    if kernel.nc.is_connected:
        with contextlib.suppress(Exception):
            last = await kernel.store.last_sequence()
    projections = []
    reasons = [] if last >= 0 else ["the event log (NATS) does not answer"]
    for runner in kernel.runners.values():
        lag = runner.lag()
        caught_up = last >= 0 and (
            lag["lag_events"] <= max_lag or await runner.wait_for(last, timeout=0)
        )
        if lag["paused"] is not None:
            caught_up = False
            paused = lag["paused"]
            reasons.append(f"projection {runner.projection.name} paused at sequence {paused['sequence']}: "
                           f"{paused['reason']}")
        elif not caught_up and last >= 0:
            reasons.append(f"projection {runner.projection.name} is {lag['lag_events']} events behind")
        projections.append({**lag, "caught_up": caught_up})
    reactions = []
    for reactor in kernel.reactors.values():
        status = reactor.status()
        if status["paused"] is not None:
            paused = status["paused"]
            reasons.append(f"reaction {reactor.reaction.name} paused at sequence {paused['sequence']}: "
                           f"{paused['reason']}")
        reactions.append(status)
    ok = not reasons
    body = {
        "status": "ready" if ok else "not_ready",
        "service": kernel.spec.name,
        "nats_connected": kernel.nc.is_connected,
        "log_last_sequence": last,
        "projections": projections,
        "reactions": reactions,
        "reasons": reasons,
    }
    return ok, body


def create_app(
    spec: ServiceSpec,
    settings: ServiceSettings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    resolved = settings or ServiceSettings.for_service(spec.name, spec.default_port)
    if spec.preflight is not None:
        spec.preflight()

    from ..audit.asof_http import install_as_of  # late: the audit package builds on the kernel

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kernel = await start_kernel(spec, resolved, clock, gate)
        app.state.kernel = kernel
        try:
            yield
        finally:
            as_of_reads.close()
            await stop_kernel(kernel)

    gate = ShutdownGate()
    app = FastAPI(title=spec.title, description=spec.description, version=spec.version, lifespan=lifespan)
    app.state.shutdown_gate = gate  # `ducha.kernel.serve` opens it when uvicorn begins to stop
    install_error_handlers(app)
    as_of_reads = install_as_of(app, spec)  # `GET /v1/...?as_of=N`: read as of log sequence N

    @app.get("/health", tags=["ops"], summary="liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    app.add_middleware(CorrelationMiddleware, service=spec.name)
    app.add_middleware(ShutdownGuard, gate=gate)  # outermost but for the body limit and headers below

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # Operations data (volumes, lags, error rates) is for the scraper, not the public: with a
        # DUCHA_METRICS_TOKEN set (required in production) it takes that bearer token.
        if resolved.metrics_token and not hmac.compare_digest(
                request.headers.get("authorization", "").encode(), f"Bearer {resolved.metrics_token}".encode()):
            return error_response(401, "unauthorized", "/metrics needs the metrics bearer token",
                                  headers={"WWW-Authenticate": "Bearer"})
        return metrics_response(app.state.kernel)

    @app.get("/ready", tags=["ops"], summary="readiness: NATS connected, projections caught up, none paused")
    async def ready() -> JSONResponse:
        ok, body = await readiness(app.state.kernel, resolved.ready_max_lag)
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/v1/me", tags=["identity"], summary="the actor named by your bearer token",
             responses={401: ERROR_RESPONSES[401]})
    async def me(actor: CurrentActor) -> Actor:
        return actor

    for router in spec.routers():
        app.include_router(router)
    app.add_middleware(SecurityHeadersMiddleware, headers=spec.response_headers)
    # Added last, so outermost: an oversized body is refused before any other work.
    app.add_middleware(BodyLimitMiddleware,
                       limits=BodyLimits(resolved.max_json_bytes, resolved.max_upload_bytes))
    return app


__all__ = [
    "Hook",
    "Kernel",
    "ServiceSpec",
    "cancel_and_wait",
    "create_app",
    "readiness",
    "start_kernel",
    "stop_kernel",
]
