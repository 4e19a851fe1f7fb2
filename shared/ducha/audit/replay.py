"""Replay and as-of: rebuild a service's projections from the log into a scratch database, compare
them with the live ones, or stop at a past log sequence / time.

The scratch database is of the live one's kind (a temporary SQLite file, or a temporary schema in the
same PostgreSQL database) so values compare exactly."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import nats.js.errors
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import make_url

from ..kernel.db import make_engine, sqlite_url
from ..kernel.eventstore import EventStore
from ..kernel.projection import Projection, ProjectionRunner, positions
from ..kernel.service import ServiceSpec


@dataclass
class Scratch:
    """A temporary database like `like_url`: a SQLite file, or a fresh PostgreSQL schema."""

    url: str
    schema: str | None
    engine: Engine
    path: Path | None = None

    @classmethod
    def like(cls, like_url: str, name: str, folder: Path | None = None) -> Scratch:
        if make_url(like_url).get_backend_name() == "sqlite":
            folder = folder or Path(tempfile.mkdtemp(prefix="ducha-replay-"))
            path = folder / f"{name}.db"
            url = sqlite_url(path)
            return cls(url, None, make_engine(url), path)
        schema = f"ducha_replay_{name}_{uuid.uuid4().hex[:8]}"
        return cls(like_url, schema, make_engine(like_url, schema))

    def describe(self) -> str:
        return str(self.path) if self.path else f"{make_url(self.url).render_as_string(hide_password=True)} schema {self.schema}"

    def drop(self) -> None:
        self.engine.dispose()
        if self.schema:
            eng = make_engine(self.url)
            with eng.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            eng.dispose()
        elif self.path:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


@dataclass
class BuildSummary:
    projection: str
    events: int = 0
    seconds: float = 0.0
    up_to_sequence: int = 0
    differences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"projection": self.projection, "events": self.events, "seconds": round(self.seconds, 3),
                "events_per_second": round(self.events_per_second), "up_to_sequence": self.up_to_sequence,
                "differences": self.differences}


class Progress:
    """A plain progress bar on stderr (one line, redrawn)."""

    def __init__(self, out: TextIO | None = sys.stderr, width: int = 30) -> None:
        self.out, self.width = out, width

    def show(self, label: str, done: int, total: int) -> None:
        if self.out is None:
            return
        share = min(done / total, 1.0) if total else 1.0
        bar = "#" * int(share * self.width)
        self.out.write(f"\r{label:<36} [{bar:<{self.width}}] {share:4.0%} {done:>9,}/{total:,}")
        self.out.flush()

    def end(self) -> None:
        if self.out is not None:
            self.out.write("\n")
            self.out.flush()


async def build(engine: Engine, store: EventStore, projection: Projection, service: str, until: int,
                progress: Progress | None = None, label: str = "") -> tuple[int, float]:
    """Apply the projection's events up to `until` into `engine` (resuming where it stands).
    Returns (events applied, seconds)."""
    runner = ProjectionRunner(engine, store, projection, service, until=until)
    started = time.perf_counter()
    await runner.start()
    try:
        name = label or projection.name
        await runner.replay_to(until, (lambda pos: progress.show(name, pos, until)) if progress else None,
                               every=0.2)
        if progress:
            progress.show(label or projection.name, until, until)
            progress.end()
    finally:
        await runner.stop()
    return runner.applied, time.perf_counter() - started


def stored_position(engine: Engine, name: str) -> int:
    if not inspect(engine).has_table(positions.name):
        return 0
    with engine.connect() as conn:
        value = conn.execute(select(positions.c.last_sequence).where(positions.c.name == name)).scalar()
    return int(value or 0)


def snapshot(engine: Engine, projection: Projection) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
    """The projection's position and all its rows (sorted), read in one transaction."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            existing = set(inspect(conn).get_table_names())
            pos = 0
            if positions.name in existing:
                pos = int(conn.execute(select(positions.c.last_sequence).where(
                    positions.c.name == projection.name)).scalar() or 0)
            tables = {}
            for table in projection.metadata.sorted_tables:
                rows = [tuple(r) for r in conn.execute(select(table))] if table.name in existing else []
                tables[table.name] = sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))
    return pos, tables


def compare(live: dict[str, list[tuple[Any, ...]]], replay: dict[str, list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    diffs = []
    for name, a in live.items():
        b = replay.get(name, [])
        if a == b:
            continue
        set_a, set_b = set(a), set(b)
        only_live = [r for r in a if r not in set_b]
        only_replay = [r for r in b if r not in set_a]
        diffs.append({"table": name, "live_rows": len(a), "replay_rows": len(b),
                      "only_live": [list(map(str, r)) for r in only_live],
                      "only_replay": [list(map(str, r)) for r in only_replay]})
    return diffs


async def replay_service(spec: ServiceSpec, store: EventStore, live: Engine, scratch: Scratch,
                         progress: Progress | None = None) -> list[BuildSummary]:
    """Rebuild every projection of `spec` into `scratch` up to where the live one stands, and
    compare every table with the live database."""
    out = []
    for projection in spec.projections():
        summary = BuildSummary(projection.name)
        target = stored_position(live, projection.name)
        for _attempt in range(10):  # the live projection moves on meanwhile: follow it
            events, seconds = await build(scratch.engine, store, projection, spec.name, target,
                                          progress, f"{spec.name}/{projection.name}")
            summary.events += events
            summary.seconds += seconds
            live_pos, live_rows = await asyncio.to_thread(snapshot, live, projection)
            if live_pos <= target:
                break
            target = live_pos
        summary.up_to_sequence = target
        _pos, replay_rows = await asyncio.to_thread(snapshot, scratch.engine, projection)
        summary.differences = compare(live_rows, replay_rows)
        out.append(summary)
    return out


async def sequence_at(store: EventStore, moment: datetime) -> int:
    """The last log sequence stored at or before `moment` (binary search on stored times)."""
    info = await store.js.stream_info(store.stream)
    lo, hi = int(info.state.first_seq), int(info.state.last_seq)
    if hi == 0:
        return 0

    async def time_of(seq: int) -> datetime:
        while True:
            try:
                raw = await store.js.get_msg(store.stream, seq=seq)
                assert raw.time is not None
                return raw.time
            except nats.js.errors.NotFoundError:  # a deleted message: use the next one
                seq += 1

    if await time_of(lo) > moment:
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if await time_of(mid) <= moment:
            lo = mid
        else:
            hi = mid - 1
    return lo


async def as_of(spec: ServiceSpec, store: EventStore, like_url: str, *, sequence: int | None = None,
                at: datetime | None = None, progress: Progress | None = None,
                folder: Path | None = None) -> tuple[Scratch, int, list[BuildSummary]]:
    """Build `spec`'s projections as they were at a log sequence (or a time) into a scratch
    database; the caller queries it and calls `scratch.drop()`."""
    if (sequence is None) == (at is None):
        raise ValueError("give a sequence or a time")
    target = sequence if sequence is not None else await sequence_at(store, at)  # type: ignore[arg-type]
    target = min(target, await store.last_sequence())  # past the end: the state now
    scratch = Scratch.like(like_url, f"{spec.name}_asof_{target}", folder)
    summaries = []
    for projection in spec.projections():
        events, seconds = await build(scratch.engine, store, projection, spec.name, target, progress,
                                      f"{spec.name}/{projection.name}")
        summaries.append(BuildSummary(projection.name, events, seconds, target))
    return scratch, target, summaries


def names(projections: Sequence[Projection]) -> list[str]:
    return [p.name for p in projections]


async def replay_all(nats_url: Any, data_dir: Path, services: Sequence[str] | None = None,
                     progress: Progress | None = None) -> dict[str, list[BuildSummary]]:
    """Rebuild every projection of every registered service (or of `services`) into scratch
    databases and compare each with that service's live database (its settings, as `ducha run`
    and the services resolve them)."""
    import nats

    from ..cli import service_specs
    from ..contracts import registry
    from ..kernel.config import ServiceSettings

    specs = service_specs()
    chosen = list(services) if services else list(specs)
    unknown = [s for s in chosen if s not in specs]
    if unknown:
        raise ValueError(f"no service {', '.join(unknown)} (known: {', '.join(specs)})")
    nc = await nats.connect(nats_url) if isinstance(nats_url, str) else nats_url
    results: dict[str, list[BuildSummary]] = {}
    try:
        store = EventStore(nc, registry)
        for name in chosen:
            settings = ServiceSettings.for_service(name, specs[name].default_port, data_dir=data_dir)
            live = make_engine(settings.resolved_database_url(), settings.resolved_schema())
            scratch = Scratch.like(settings.resolved_database_url(), name)
            try:
                results[name] = await replay_service(specs[name], store, live, scratch, progress)
            finally:
                scratch.drop()
                live.dispose()
    finally:
        if isinstance(nats_url, str):
            await nc.close()
    return results
