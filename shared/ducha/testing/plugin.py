"""pytest fixtures for Ducha: a real, pinned nats-server per test and a fresh database.

Database choice: `DUCHA_TEST_DB=sqlite` (default) or `postgres`. For PostgreSQL the URL comes from
`DUCHA_TEST_DATABASE_URL`; without one, a testcontainers PostgreSQL is started where a Docker engine
is reachable, else the local server at 127.0.0.1:5432/test is used. Each test gets its own schema.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import Engine, text

from ducha.contracts import Actor, Role
from ducha.kernel.db import make_engine, sqlite_url
from ducha.kernel.eventstore import ensure_streams
from ducha.kernel.identity import KeyPair, TokenIssuer, generate_keys
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import DLQ_STREAM
from ducha.testing.settings import TestSettings

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_base_url() -> str:
    url = TestSettings().database_url
    if url:
        return url
    try:  # only where a Docker engine exists
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer("postgres:15-alpine", driver="psycopg")
        container.start()
        _CONTAINERS.append(container)
        return str(container.get_connection_url())
    except Exception:  # noqa: BLE001 - docker.errors.DockerException when no engine: fall back
        return LOCAL_POSTGRES


_CONTAINERS: list[Any] = []
_PG_URL: list[str] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    for container in _CONTAINERS:
        with contextlib.suppress(Exception):
            container.stop()


def test_database_kind() -> str:
    return TestSettings().db.lower()


DEAD_LETTERS_EXPECTED = "dead_letters_expected"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{DEAD_LETTERS_EXPECTED}: the test writes dead letters on purpose (else any fails it)")


async def dead_letters(nats_url: str, limit: int = 10) -> list[str]:
    """What the dead-letter stream of this NATS holds: one line per message (consumer, original
    subject and sequence, reason), at most `limit`."""
    client = await nats.connect(nats_url, max_reconnect_attempts=1, connect_timeout=5)
    try:
        js = client.jetstream()
        try:
            info = await js.stream_info(DLQ_STREAM)
        except nats.js.errors.NotFoundError:
            return []
        count = info.state.messages
        found: list[str] = []
        for seq in range(info.state.first_seq, info.state.first_seq + min(count, limit)):
            msg = await js.get_msg(DLQ_STREAM, seq)
            h = msg.headers or {}
            found.append(f"{h.get('Ducha-Consumer')} {h.get('Ducha-Original-Subject')}"
                         f"#{h.get('Ducha-Original-Sequence')}: {h.get('Ducha-Reason')}")
        if count > limit:
            found.append(f"... and {count - limit} more")
        return found
    finally:
        await client.close()


def assert_no_dead_letters(nats_url: str) -> None:
    """Fail the test if anything was dead-lettered: a dead letter in a test is a failure, not a log
    line. Runs in its own thread and loop (callable from sync teardown and from async tests)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        letters = pool.submit(asyncio.run, dead_letters(nats_url)).result(timeout=60)
    if letters:
        pytest.fail("dead letters were written:\n  " + "\n  ".join(letters), pytrace=False)


@pytest.fixture
def nats_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NatsServer]:
    """A real nats-server for one test. At teardown the test fails if any message was dead-lettered,
    unless it is marked `dead_letters_expected`."""
    server = NatsServer(store_dir=tmp_path / "jetstream").start()
    try:
        yield server
        if request.node.get_closest_marker(DEAD_LETTERS_EXPECTED) is None:
            assert_no_dead_letters(server.url)
    finally:
        server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_server.url)
    await ensure_streams(client.jetstream())
    try:
        yield client
    finally:
        await client.close()


def fresh_database_url(tmp_path: Path, name: str = "projection") -> tuple[str, str | None]:
    """(url, schema) of an empty database for one test."""
    if test_database_kind() == "postgres":
        if not _PG_URL:
            _PG_URL.append(_postgres_base_url())
        return _PG_URL[0], f"t_{uuid.uuid4().hex[:16]}"
    return sqlite_url(tmp_path / f"{name}.db"), None


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    url, schema = fresh_database_url(tmp_path)
    yield url, schema
    drop_schema(url, schema)


def drop_schema(url: str, schema: str | None) -> None:
    if schema:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def engine(database_url: tuple[str, str | None]) -> Iterator[Engine]:
    url, schema = database_url
    eng = make_engine(url, schema)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return generate_keys()


@pytest.fixture(scope="session")
def issuer(keys: KeyPair) -> TokenIssuer:
    return TokenIssuer(keys.private_pem)


def actor(role: str, ident: str | None = None, **scope: Any) -> Actor:
    return Actor(id=ident or f"{role}-1", name=scope.pop("name", ident or role), role=Role(role), **scope)


class ServiceHarness:
    """Runs one service app in-process (its real lifespan: NATS, database, projections) and gives
    an HTTP client for it, with tokens signed by the test issuer."""

    def __init__(self, app: Any, client: Any, issuer: TokenIssuer) -> None:
        self.app = app
        self.client = client
        self.issuer = issuer

    @property
    def kernel(self) -> Any:
        return self.app.state.kernel

    def headers(self, who: Actor, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(who)}", **extra}


@contextlib.asynccontextmanager
async def run_service(
    spec: Any,
    nats_url: str,
    tmp_path: Path,
    keys: KeyPair,
    clock: Any = None,
    database: tuple[str, str | None] | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[ServiceHarness]:
    import httpx

    from ducha.kernel.config import ServiceSettings
    from ducha.kernel.service import create_app

    tmp_path.mkdir(parents=True, exist_ok=True)
    key_file = tmp_path / "issuer.pub.pem"
    key_file.write_bytes(keys.public_pem)
    url, schema = database or fresh_database_url(tmp_path, spec.name)
    settings = ServiceSettings.for_service(
        spec.name,
        spec.default_port,
        nats_url=nats_url,
        database_url=url,
        database_schema=schema,
        data_dir=tmp_path / "data",
        jwt_public_key_file=key_file,
        **settings_overrides,
    )
    app = create_app(spec, settings, clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield ServiceHarness(app, client, TokenIssuer(keys.private_pem))
    finally:
        if database is None:
            drop_schema(url, schema)
