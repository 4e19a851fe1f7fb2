"""Metrics (Prometheus), structured JSON logs and correlation ids.

Metrics are process-wide (prometheus_client's default registry); every series carries the service
name, so one scrape config fits all services.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.requests import Request
from starlette.responses import Response

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


def correlation_middleware(service: str) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cid = request.headers.get("x-correlation-id") or uuid.uuid4().hex
        token = correlation_id.set(cid[:128])
        try:
            response = await call_next(request)
        finally:
            correlation_id.reset(token)
        response.headers["X-Correlation-Id"] = cid[:128]
        HTTP_REQUESTS.labels(service, request.method, f"{response.status_code // 100}xx").inc()
        return response

    return middleware


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
