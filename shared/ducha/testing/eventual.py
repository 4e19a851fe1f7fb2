"""Sending commands the way a client that does not wait would: the next command right after the
one that created its aggregate, no `min_sequence`, no pause.

The contract (README, "Errors"): such a command never answers 404 for an aggregate that exists; a
service that has not yet seen an event the command depends on answers 503 with `Retry-After` in
the error shape, and the same command with the same Idempotency-Key may then be sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..contracts import Actor
from ..kernel.runtime import Kernel
from .plugin import ServiceHarness

RETRIES = 200  # a loaded CI machine may take a while to catch up; each retry waits 50 ms


async def send_at_once(svc: ServiceHarness, who: Actor, method: str, path: str, json: Any = None,
                       key: str | None = None) -> httpx.Response:
    """Send a command; a 503 must carry Retry-After and the error shape, and is resent with the
    same key until the service answers otherwise. Returns that answer (never a 503)."""
    headers = svc.headers(who, **{"Idempotency-Key": key or uuid.uuid4().hex})
    for _ in range(RETRIES):
        r: httpx.Response = await svc.client.request(method, path, json=json, headers=headers)
        if r.status_code != 503:
            return r
        assert r.headers.get("Retry-After"), f"{path}: 503 without Retry-After: {r.text}"
        assert r.json()["error"]["code"], r.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path}: still 503 after {RETRIES} tries")


def assert_ok(r: httpx.Response, what: str) -> dict[str, Any]:
    assert r.status_code in (200, 201), f"{what}: {r.status_code} {r.text}"
    body: dict[str, Any] = r.json()
    return body


@contextlib.asynccontextmanager
async def projections_paused(kernel: Kernel) -> AsyncIterator[None]:
    """The service's read models stop following the log (as under a long lag), then catch up."""
    runners = list(kernel.runners.values())
    for runner in runners:
        await runner.stop()
    try:
        yield
    finally:
        for runner in runners:
            await runner.start()


def assert_not_yet_visible(r: httpx.Response, what: str) -> None:
    """503 in the error shape with Retry-After: the documented "retry" answer, never 404."""
    assert r.status_code == 503, f"{what}: {r.status_code} {r.text}"
    assert r.headers.get("Retry-After") and r.json()["error"]["code"] == "not_yet_visible", r.text
