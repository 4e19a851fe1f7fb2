"""SQL engines for projections: a SQLite file by default, PostgreSQL when a URL is configured.

Projections are derived data (rebuildable from the log), but each one's rows and its position in
the log commit together, so whatever survives a crash is consistent.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

WRITE_OPTION = "ducha_write"


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.as_posix()}"


def make_engine(url: str, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`; for PostgreSQL, `schema` isolates one service (or one test)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets queries read while the projection runner writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN so two writers queue (busy timeout) instead of
            # failing on a lock upgrade; readers stay deferred and never block in WAL mode.
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if schema:
        engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        @event.listens_for(engine, "connect")
        def _search_path(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f'SET search_path TO "{schema}"')
            cur.close()
            dbapi_conn.commit()

        engine.dispose()  # drop the connection opened before the listener existed
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _writers_guard:
        lock = _writers.get(engine)
        if lock is None:
            lock = _writers[engine] = threading.Lock()
        return lock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success, rolled back on error.

    SQLite has one writer at a time, and a writer that finds the lock taken sleeps in SQLite's
    busy handler for up to 100 ms per try however soon the lock is free: with a service's
    projections and reactions writing one file, that sleep was most of notify's commit time under
    load. Writers of one process therefore queue on a lock of their own, and wake the moment it is
    free; other processes (a second instance, `ducha rebuild`) still meet the busy timeout."""
    turn = _writer_lock(engine) if is_sqlite(engine) else contextlib.nullcontext()
    with turn, engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def serialize_schema_changes(conn: Connection, name: str) -> None:
    """Make concurrent instances create or drop tables one at a time (PostgreSQL would otherwise
    race on its catalog; SQLite's BEGIN IMMEDIATE already serializes)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": "ducha:" + name})


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
