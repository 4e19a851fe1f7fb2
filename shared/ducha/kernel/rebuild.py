"""Rebuild a service's projections from the log, outside the running service."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client as NATS

from ..contracts import registry
from .config import ServiceSettings
from .db import make_engine
from .eventstore import EventStore, ensure_streams
from .projection import ProjectionRunner
from .service import ServiceSpec


async def rebuild_service(spec: ServiceSpec, settings: ServiceSettings, nc: NATS | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Drop and replay every projection of `spec`; `progress(label, position, target)` is called
    twice a second while one replays (the command line draws a bar with it)."""
    own = nc is None
    if nc is None:
        nc = await nats.connect(settings.nats_servers)
    try:
        await ensure_streams(nc.jetstream(), settings.stream_replicas)
        store = EventStore(nc, registry)
        engine = make_engine(settings.resolved_database_url(), settings.resolved_schema())
        results = []
        for projection in spec.projections():
            runner = ProjectionRunner(engine, store, projection, spec.name)
            started = time.perf_counter()
            await runner.rebuild()
            target = await store.last_sequence()
            label = f"{spec.name}/{projection.name}"
            await runner.replay_to(target, _reporter(progress, label, target) if progress else None)
            if progress:
                progress(label, target, target)
            await runner.stop()
            seconds = time.perf_counter() - started
            results.append(
                {
                    "projection": projection.name,
                    "events": runner.applied,
                    "log_sequence": target,
                    "seconds": round(seconds, 3),
                    "events_per_second": round(runner.applied / seconds) if seconds else None,
                }
            )
        engine.dispose()
        return {"service": spec.name, "projections": results}
    finally:
        if own:
            await nc.close()


def _reporter(progress: Callable[[str, int, int], None], label: str, target: int) -> Callable[[int], None]:
    """One projection's progress callback (bound here, not to the loop's changing variables)."""
    return lambda position: progress(label, position, target)
