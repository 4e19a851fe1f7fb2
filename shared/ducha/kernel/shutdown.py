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
        self._timer = asyncio.get_running_loop().call_later(grace_seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        cut = [r for r in self._in_flight if not r.appending and r.task is not None and not r.task.done()]
        if cut:
            log.warning("stopping: grace period over, answering %d request(s) with 503", len(cut))
        for record in cut:
            assert record.task is not None
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
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        token = _current.set(record)
        gate._in_flight.add(record)
        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError:
            if not gate.draining:
                raise  # not the stop's doing
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the stop cancelled it to answer it: answer instead of dying
            if started:
                # A stream (server-sent events) under way: end it cleanly, the client reconnects.
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send_stopping(send, stored_unknown=record.appending)
        finally:
            gate._in_flight.discard(record)
            _current.reset(token)
