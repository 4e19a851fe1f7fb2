"""Server-Sent Events: `GET /v1/streams/units/{department}/events`, a department's part of the
department stream DUCHA_DEPT — exactly what the disclosure policy lets that department see,
redacted, in the public contract shape, in order.

Each event is sent as `id: <DUCHA_DEPT sequence>`, `event: <EventType>`, `data: <the disclosed
event>`; a client that reconnects with `Last-Event-ID` (or `?after=`) continues after that sequence.
A unit or helper department may follow only itself; the office (and the system) any department.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from ducha.kernel.errors import InvalidCommand
from ducha.kernel.eventstore import DeliveryGap, DeliveryTracker, subscribe_ordered
from ducha.kernel.http import MAX_SEQUENCE, QUERY_ERRORS, CurrentActor, KernelDep, PathId
from ducha.kernel.subjects import check_token
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from ..scopes import department_scope
from .stream import DEPT_STREAM, dept_subject, ensure_dept_stream

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

router = APIRouter(prefix="/v1/streams", tags=["streams"], responses=QUERY_ERRORS)
HEARTBEAT_SECONDS = 15.0


async def unit_events(kernel: Kernel, unit: str, after: int) -> AsyncGenerator[tuple[int, str, bytes] | None, None]:
    """(DUCHA_DEPT sequence, subject, disclosed bytes) of the department's events after `after`,
    live; None on idle ticks (1 s). Restarts its ordered consumer after a delivery gap, from the
    last one yielded."""
    js = kernel.store.js
    position = after
    while True:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        tracker = DeliveryTracker()

        async def on_msg(msg: Any, q: asyncio.Queue[Any] = queue) -> None:
            q.put_nowait(msg)

        sub = await subscribe_ordered(js, DEPT_STREAM, [dept_subject(unit)], position + 1, on_msg)
        try:
            while True:
                try:
                    async with asyncio.timeout(1.0):  # not wait_for: see runtime.wait_or_timeout
                        msg = await queue.get()
                except TimeoutError:
                    yield None
                    continue
                try:
                    seq, _pending = tracker.check(msg.reply)
                except DeliveryGap:
                    break
                if seq <= position:
                    continue
                position = seq
                yield seq, msg.subject, msg.data
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


def sse_frame(seq: int, event_type: str, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, event_type.encode(), data)


@router.get("/units/{unit}/events", summary="a department's disclosed events as Server-Sent Events (resumable)",
            response_class=StreamingResponse)
async def stream_unit(
    unit: PathId,
    actor: CurrentActor,
    request: Request,
    kernel: KernelDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQUENCE, description="start after this DUCHA_DEPT sequence")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="close after this many events")] = None,
    idle_timeout: Annotated[float | None, Query(gt=0, le=3600, description="close after this many idle seconds")] = None,
) -> StreamingResponse:
    check_token(unit, "unit id")
    department_scope(actor, unit)
    start = after or 0
    if last_event_id:
        if not last_event_id.strip().isdigit():
            raise InvalidCommand("Last-Event-ID must be a stream sequence", field="Last-Event-ID")
        start = max(start, int(last_event_id))
    # a request may come before the publisher made the stream
    await ensure_dept_stream(kernel.store.js, kernel.settings.stream_replicas)

    async def body() -> AsyncIterator[bytes]:
        sent, idle_since, beat = 0, time.monotonic(), time.monotonic()
        yield b"retry: 2000\n\n"
        async with contextlib.aclosing(unit_events(kernel, unit, start)) as events:
            async for item in events:
                now = time.monotonic()
                if item is None:
                    if idle_timeout is not None and now - idle_since >= idle_timeout:
                        return
                    if now - beat >= HEARTBEAT_SECONDS:
                        beat = now
                        yield b": keepalive\n\n"
                    if await request.is_disconnected():
                        return
                    continue
                seq, subject, data = item
                yield sse_frame(seq, subject.rpartition(".")[2], data)
                sent, idle_since = sent + 1, now
                if limit is not None and sent >= limit:
                    return

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
