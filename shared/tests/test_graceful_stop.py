"""A service stopped under load answers every request it took in: a success, or the error shape
(503 `service_stopping` with Retry-After for what it could not finish), never uvicorn's plain-text
500, and a command answered 503 was not stored."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
from ducha.contracts import registry
from ducha.kernel.eventstore import EventStore
from ducha.kernel.http import scoped_command_id
from ducha.kernel.identity import TokenIssuer, ensure_local_keys
from ducha.kernel.natsserver import NatsServer, free_port
from ducha.testing.plugin import actor, drop_schema, fresh_database_url

GRACE_SECONDS = 2


@dataclass
class Answer:
    kind: str  # "read" | "write"
    key: str
    status: int | None  # None: the connection failed (refused or closed before any answer)
    content_type: str = ""
    body: object = None
    retry_after: str | None = None


def _start_intake(tmp_path: Path, nats_url: str, port: int, db: tuple[str, str | None]) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DUCHA_NATS_URL=nats_url,
        DUCHA_DATA_DIR=str(tmp_path / "data"),
        DUCHA_DATABASE_URL=db[0],
        DUCHA_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        DUCHA_READ_WAIT_SECONDS="30",  # reads of a far-future sequence outlast the grace period
    )
    if db[1]:
        env["DUCHA_DATABASE_SCHEMA"] = db[1]
    return subprocess.Popen(
        [sys.executable, "-m", "ducha.kernel.serve", "intake", "--port", str(port)], env=env
    )


async def _send(client: httpx.AsyncClient, kind: str, key: str, method: str, url: str,
                **kwargs: object) -> Answer:
    try:
        resp = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError:
        return Answer(kind, key, None)
    ctype = resp.headers.get("content-type", "")
    body = resp.json() if ctype.startswith("application/json") else resp.text
    return Answer(kind, key, resp.status_code, ctype, body, resp.headers.get("retry-after"))


async def _stored_command_ids(nats_url: str) -> set[str]:
    nc = await nats.connect(nats_url)
    try:
        store = EventStore(nc, registry)
        ids = set()
        async for seq, _subject, data in store.read_all():
            ids.add(store.decode(data, seq).command_id)
        return ids
    finally:
        await nc.close()


async def test_a_service_stopped_under_load_answers_in_the_error_shape_and_stores_nothing_it_refused(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    port = free_port()
    db = fresh_database_url(tmp_path, "intake")
    keys = ensure_local_keys(tmp_path / "data" / "keys")
    token = TokenIssuer(keys.private_pem).issue(actor("office"))
    proc = _start_intake(tmp_path, nats_server.url, port, db)
    answers: list[Answer] = []
    try:
        # No keep-alive: each request is its own connection, so "refused" is unambiguous.
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "intake did not start"
                await asyncio.sleep(0.2)

            stop = asyncio.Event()
            written = 0

            async def writer() -> None:
                nonlocal written
                while True:
                    key = f"k-{uuid.uuid4().hex}"
                    unit = f"U{uuid.uuid4().hex[:8]}"
                    answer = await _send(client, "write", key, "POST", "/v1/units",
                                         json={"id": unit, "name": "单位" + unit, "kind": "district"},
                                         headers={"Idempotency-Key": key})
                    answers.append(answer)
                    if answer.status is not None and answer.status < 300:
                        written += 1
                    if answer.status is None or (stop.is_set() and answer.status == 503):
                        return

            async def slow_reader() -> None:
                answers.append(await _send(client, "read", "", "GET", "/v1/units",
                                           params={"min_sequence": 10**9}))

            readers = [asyncio.create_task(slow_reader()) for _ in range(3)]
            writers = [asyncio.create_task(writer()) for _ in range(6)]
            deadline = time.monotonic() + 60
            while written < 20:
                assert time.monotonic() < deadline, "the load did not get going"
                await asyncio.sleep(0.05)
            stop.set()
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*readers, *writers), timeout=90)
        # uvicorn re-raises the signal it stopped on once it has shut down cleanly
        assert await asyncio.to_thread(proc.wait, 60) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # The stored command id of an Idempotency-Key counts for the sender's scope and the command.
    ids = await _stored_command_ids(nats_server.url)
    stored = {a.key for a in answers
              if a.kind == "write" and scoped_command_id(actor("office"), "POST", "/v1/units", a.key) in ids}
    drop_schema(*db)
    for answer in answers:
        if answer.status is None:  # never taken in: nothing stored
            assert answer.key not in stored
            continue
        assert answer.status != 500 and answer.content_type.startswith("application/json"), answer
        if answer.status < 300:
            assert answer.kind == "read" or answer.key in stored
            continue
        assert isinstance(answer.body, dict) and set(answer.body["error"]) >= {"code", "message"}, answer
        assert answer.status == 503 and answer.retry_after, answer
        assert answer.body["error"]["code"] == "service_stopping", answer
        if answer.kind == "write":
            assert answer.key not in stored, answer
    reads = [a for a in answers if a.kind == "read"]
    assert len(reads) == 3 and all(a.status == 503 for a in reads), reads
    assert any(a.kind == "write" and a.status == 201 for a in answers)
