"""Test-only launcher for the fault test: a real Ducha service plus a small probe.

    python deploy/tests/faultserve.py <service> --port P          run the service (as serve.py does)
    python deploy/tests/faultserve.py <service> --rebuild-into S   rebuild its projections into schema S

It runs `ducha.kernel.serve` unchanged for the named service, configured from the environment as in
production (DUCHA_NATS_URL with all cluster nodes, DUCHA_DATABASE_URL, DUCHA_STREAM_REPLICAS, ...),
and adds to the service's own spec:

- the kernel's sample contracts (`ducha.testing.sample`: counters, context `kt`) in the event
  registry, a `CounterProjection` next to the service's own projections, and
- `POST /faulttest/counters/{id}` (open) and `POST /faulttest/counters/{id}/increment`, commands run
  through the service's own `CommandRunner` with the caller's token and `Idempotency-Key`.

So every service, including those whose API has no simple command yet, takes commands during the
fault test, and every service has a projection that two instances share. Nothing here is used in
production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence

from ducha.contracts import registry
from ducha.kernel.errors import Conflict, InvalidCommand
from ducha.kernel.eventstore import LoadedAggregate
from ducha.kernel.http import Command
from ducha.kernel.projection import Projection
from ducha.kernel.service import ServiceSpec
from ducha.kernel.subjects import AggregateKey
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterProjection, test_registry
from fastapi import APIRouter, Request

for _cls in test_registry.types().values():
    if _cls.event_type not in registry.types():
        registry.register(_cls)

probe = APIRouter(prefix="/faulttest", tags=["fault test probe"])


def _key(counter_id: str) -> AggregateKey:
    return AggregateKey("kt", "counter", counter_id, "_")


@probe.post("/counters/{counter_id}", status_code=201)
async def open_counter(counter_id: str, ctx: Command, request: Request) -> dict[str, object]:
    def decide(agg: LoadedAggregate) -> list[CounterOpened]:
        if agg.events:
            raise Conflict(f"counter {counter_id} exists")
        return [CounterOpened(title=counter_id)]

    result = await request.app.state.kernel.commands.run(_key(counter_id), ctx, decide)
    return {"id": counter_id, "sequence": result.last_sequence, "replayed": result.replayed,
            "events": len(result.events)}


@probe.post("/counters/{counter_id}/increment")
async def increment_counter(counter_id: str, ctx: Command, request: Request) -> dict[str, object]:
    def decide(agg: LoadedAggregate) -> list[CounterIncremented]:
        if not agg.events:
            raise InvalidCommand(f"no counter {counter_id}", field="counter_id")
        return [CounterIncremented(by=1)]

    result = await request.app.state.kernel.commands.run(_key(counter_id), ctx, decide)
    return {"id": counter_id, "sequence": result.last_sequence, "replayed": result.replayed,
            "events": len(result.events)}


def with_probe(spec: ServiceSpec) -> ServiceSpec:
    own_projections = spec.projections
    own_routers = spec.routers

    def projections() -> Sequence[Projection]:
        return [*own_projections(), CounterProjection()]

    def routers() -> Sequence[APIRouter]:
        return [*own_routers(), probe]

    return dataclasses.replace(spec, projections=projections, routers=routers)


def specs(only: str | None = None) -> dict[str, ServiceSpec]:
    """The registered services (entry point group `ducha.services`) with the probe; with `only`,
    just that one is imported, so a service being edited elsewhere cannot break the others."""
    from importlib.metadata import entry_points

    out = {}
    for ep in entry_points(group="ducha.services"):
        if only is None or ep.name == only:
            spec = ep.load()()
            out[spec.name] = with_probe(spec)
    return out


def rebuild_into(service: str, schema: str) -> None:
    """Replay the service's projections from the log into a fresh schema (the kernel's rebuild,
    i.e. a `ProjectionRunner` per projection) and print which tables each projection has."""
    from ducha.kernel.config import ServiceSettings
    from ducha.kernel.rebuild import rebuild_service

    spec = specs(service)[service]
    settings = ServiceSettings.for_service(spec.name, spec.default_port, database_schema=schema)
    if "," in settings.nats_url:
        # ducha.kernel.rebuild connects with the raw DUCHA_NATS_URL (not the node list): give it
        # the first node; the cluster serves the whole stream from any node.
        settings = settings.model_copy(update={"nats_url": settings.nats_url.split(",")[0].strip()})
    report = asyncio.run(rebuild_service(spec, settings))
    tables = {p.name: sorted(t.name for t in p.metadata.sorted_tables) for p in spec.projections()}
    print(json.dumps({"report": report, "tables": tables}))


def main() -> None:
    if "--rebuild-into" in sys.argv:
        i = sys.argv.index("--rebuild-into")
        rebuild_into(sys.argv[1], sys.argv[i + 1])
        return
    from ducha.kernel import serve

    only = sys.argv[1] if len(sys.argv) > 1 else None
    serve.service_specs = lambda: specs(only)  # type: ignore[attr-defined]
    serve.main()


if __name__ == "__main__":
    main()
