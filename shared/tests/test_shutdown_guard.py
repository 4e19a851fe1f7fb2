"""What the shutdown gate does with each kind of request in flight when uvicorn begins to stop:
a request that has begun to append finishes with its real answer, one that has not is answered
503 in the error shape after the grace period, and an event stream ends cleanly at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from ducha.kernel.natsserver import free_port
from ducha.kernel.serve import GracefulServer
from ducha.kernel.shutdown import ShutdownGate, ShutdownGuard
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

GRACE = 0.5


def _app(gate: ShutdownGate, appending: asyncio.Event) -> FastAPI:
    app = FastAPI()
    app.add_middleware(ShutdownGuard, gate=gate)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(60)  # a read waiting for a sequence that never comes
        return {"never": "answered"}

    @app.post("/append")
    async def append(request: Request) -> dict[str, str]:
        gate.before_append()  # what the command runner does before storing
        appending.set()
        await asyncio.sleep(GRACE * 3)  # the append outlasts the grace period
        return {"stored": "yes"}

    @app.get("/events")
    async def events() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"data: hello\n\n"
            await asyncio.sleep(60)

        return StreamingResponse(body(), media_type="text/event-stream")

    return app


async def test_in_flight_requests_are_finished_or_answered_in_the_error_shape_on_stop() -> None:
    gate, appending = ShutdownGate(), asyncio.Event()
    port = free_port()
    config = uvicorn.Config(_app(gate, appending), host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=30)
    server = GracefulServer(config, gate, GRACE)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        slow = asyncio.create_task(client.get("/slow"))
        append = asyncio.create_task(client.post("/append"))
        async with client.stream("GET", "/events") as stream:
            chunks = stream.aiter_bytes()
            assert (await anext(chunks)).startswith(b"data: hello")
            await appending.wait()
            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            server.should_exit = True
            rest = [c async for c in chunks]  # ends cleanly, long before the grace period is over
            assert rest == [] and loop.time() - stopped_at < GRACE
        answered: Any = await slow
        assert answered.status_code == 503 and answered.headers["retry-after"]
        assert answered.json()["error"]["code"] == "service_stopping"
        assert answered.json()["error"]["details"] == [{"stored": "no"}]
        finished = await append
        assert finished.status_code == 200 and finished.json() == {"stored": "yes"}
        assert gate.expired
    await asyncio.wait_for(serving, 30)
