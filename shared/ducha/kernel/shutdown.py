"""Stopping without leaving a client unsure: what a service does with requests when it stops.

When the process is told to stop (SIGTERM, Ctrl-C) the gate opens its drain:

- a request that arrives after that is answered at once with 503 `service_stopping` and
  `Retry-After` (uvicorn has also stopped accepting connections);
- requests in flight may finish within the grace period (`DUCHA_SHUTDOWN_GRACE_SECONDS`);
- when the grace period ends, every request that has not begun to append to the log is cancelled
  and answered 503 `service_stopping` in the error shape (nothing of it was stored), and no
  request may begin an append any more; a request that has begun an append is left to finish,
  because an answer given while its append is under way could not say whether it was stored.

The command runner asks the gate before each append (`before_append`); the ASGI middleware
`ShutdownGuard` tracks requests and turns a cancellation into that answer instead of uvicorn's
plain-text 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ServiceStopping

log = logging.getLogger("ducha.shutdown")

RETRY_AFTER_SECONDS = 2


@dataclass(eq=False)
class InFlight:
    """One request being served."""

    task: asyncio.Task[object] | None
    appending: bool = False  # it has begun to append: it must finish, never be cut off
    started: bool = False  # its response has begun
    event_stream: bool = False  # a server-sent events stream, which never ends by itself


_current: ContextVar[InFlight | None] = ContextVar("ducha_in_flight", default=None)


class ShutdownGate:
    def __init__(self) -> None:
        self.draining = False
        self.expired = False
        self._in_flight: set[InFlight] = set()
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, grace_seconds: float) -> None:
        """Start draining (idempotent); cut off what has not begun to append after the grace."""
        if self.draining:
            return
        self.draining = True
        log.info("stopping: %d request(s) in flight, %.0f s to finish", len(self._in_flight), grace_seconds)
        # Event streams are ended now (their clients reconnect elsewhere), not after the grace.
        self._cut([r for r in self._in_flight if r.event_stream])
        self._timer = asyncio.get_running_loop().call_later(grace_seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        # A response already under way (an export being streamed) is not cut: a body ended early
        # could look complete. uvicorn's own, later limit still bounds it.
        cut = [r for r in self._in_flight if not r.appending and not r.started]
        if cut:
            log.warning("stopping: grace period over, answering %d request(s) with 503", len(cut))
        self._cut(cut)

    @staticmethod
    def _cut(records: list[InFlight]) -> None:
        for record in records:
            if record.task is not None and not record.task.done():
                record.task.cancel("service stopping")

    def before_append(self) -> None:
        """Called by the command runner before each append. After the grace period, a request
        that has appended nothing yet is refused here, so its 503 means "not stored"."""
        record = _current.get()
        if record is None or record.appending:
            # Background jobs are stopped by the lifespan; a request that has begun to append
            # finishes (its retries included), or its client could not tell what was stored.
            return
        if self.expired:
            raise ServiceStopping(
                "this service is stopping; nothing of this command was stored, send it again "
                "(with the same Idempotency-Key) shortly"
            )
        record.appending = True


def stopping_body(stored_unknown: bool) -> bytes:
    if stored_unknown:
        message = ("this service stopped while storing your command; send it again with the same "
                   "Idempotency-Key to learn whether it was stored")
    else:
        message = "this service is stopping; nothing was stored, retry shortly"
    body = {"error": {"code": "service_stopping", "message": message, "field": None,
                      "details": [{"stored": "unknown" if stored_unknown else "no"}]}}
    return json.dumps(body).encode()


async def send_stopping(send: Send, stored_unknown: bool = False) -> None:
    body = stopping_body(stored_unknown)
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"connection", b"close"),
        ],
    })
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ShutdownGuard:
    """ASGI middleware (outermost): refuses new requests while draining and answers a request
    cancelled by the stop in the error shape."""

    def __init__(self, app: ASGIApp, gate: ShutdownGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = self.gate
        if gate.draining:
            await send_stopping(send)
            return
        record = InFlight(asyncio.current_task())

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.started = True
                record.event_stream = any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in message.get("headers", ())
                )
            await send(message)

        token = _current.set(record)
        gate._in_flight.add(record)
        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError:
            if not gate.draining or (record.started and not record.event_stream):
                raise  # not the stop's doing, or a body under way that must not look complete
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the stop cancelled it to answer it: answer instead of dying
            if record.started:
                # Server-sent events: end the stream cleanly, the client reconnects.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send_stopping(send, stored_unknown=record.appending)
        finally:
            gate._in_flight.discard(record)
            _current.reset(token)
