"""Metrics (Prometheus), structured JSON logs and correlation ids.

Metrics are process-wide (prometheus_client's default registry); every series carries the service
name, so one scrape config fits all services.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .service import Kernel

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

COMMANDS = Counter(
    "ducha_commands_total", "Commands handled, by outcome", ["service", "outcome"]
)  # outcome: ok | replayed | rejected (a domain rule said no) | conflict | error
APPENDED = Counter("ducha_events_appended_total", "Events appended to the log", ["service"])
APPEND_SECONDS = Histogram(
    "ducha_append_seconds", "Time to append one command's events (acknowledged)", ["service"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PROJECTION_POSITION = Gauge(
    "ducha_projection_position", "Last log sequence applied", ["service", "projection"]
)
PROJECTION_LAG_EVENTS = Gauge(
    "ducha_projection_lag_events", "Events the projection follows that are not applied yet",
    ["service", "projection"],
)
PROJECTION_LAG_SECONDS = Gauge(
    "ducha_projection_lag_seconds", "Seconds since the projection last applied while behind",
    ["service", "projection"],
)
DEAD_LETTERS = Counter(
    "ducha_dead_letters_total", "Messages sent to the dead-letter stream", ["service", "consumer"]
)
CONSUMER_PAUSED = Gauge(
    "ducha_consumer_paused",
    "Log sequence of an event too new for this service's version, at which a projection or reaction "
    "waits for the upgrade (0: running)",
    ["service", "consumer"],
)
DELIVERIES = Counter(
    "ducha_deliveries_total", "Outbound deliveries (mail, webhooks, streams), by outcome",
    ["service", "channel", "outcome"],
)
HTTP_REQUESTS = Counter(
    "ducha_http_requests_total", "HTTP requests, by status class", ["service", "method", "status"]
)


def metrics_response(kernel: Kernel) -> Response:
    for name, runner in kernel.runners.items():
        lag = runner.lag()
        PROJECTION_POSITION.labels(kernel.spec.name, name).set(lag["position"])
        PROJECTION_LAG_EVENTS.labels(kernel.spec.name, name).set(lag["lag_events"])
        PROJECTION_LAG_SECONDS.labels(kernel.spec.name, name).set(lag["lag_seconds"])
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class CorrelationMiddleware:
    """Pure ASGI (Starlette's BaseHTTPMiddleware runs each request through an extra task and
    memory streams: ~10% of a service's CPU under load): every request gets a correlation id
    (the client's `X-Correlation-Id` or a new one) for its logs and its answer, and is counted."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"x-correlation-id"), b"")
        cid = given.decode("latin-1")[:128] or uuid.uuid4().hex
        token = correlation_id.set(cid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Correlation-Id"] = cid
                HTTP_REQUESTS.labels(self.service, scope["method"], f"{int(message['status']) // 100}xx").inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """JSON lines (one object per record, with service and correlation id) or plain text."""
    handler = logging.StreamHandler()
    handler.addFilter(_CorrelationFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{correlation_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
