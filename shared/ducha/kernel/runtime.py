"""What a running service is made of: its description (`ServiceSpec`) and the `Kernel` its
handlers use. Kept apart from the bootstrap (`ducha.kernel.service`, which re-exports both) so the
HTTP glue can name the kernel's type without an import cycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from nats.aio.client import Client as NATS
from sqlalchemy import Engine

from .clock import Clock
from .commands import CommandRunner
from .config import ServiceSettings
from .eventstore import EventStore
from .identity import TokenVerifier
from .projection import Projection, ProjectionRunner
from .reaction import Reaction, ReactionRunner

Hook = Callable[["Kernel"], Awaitable[None]]


@dataclass
class ServiceSpec:
    name: str
    title: str
    default_port: int
    description: str = ""
    projections: Callable[[], Sequence[Projection]] = lambda: ()
    routers: Callable[[], Sequence[APIRouter]] = lambda: ()
    reactions: Callable[[], Sequence[Reaction]] = lambda: ()
    # Background work (timers, reactions) started after the projections; each returns when
    # cancelled. Given the kernel so it needs no globals.
    background: Sequence[Callable[[Kernel], Coroutine[Any, Any, None]]] = ()
    # Checks and one-time setup when the service starts, before its projections: an exception
    # (e.g. a ConfigError for a setting production requires) stops the start.
    startup: Callable[[Kernel], Coroutine[Any, Any, None]] | None = None
    version: str = "0.1.0"
    # Added to (or replacing) the kernel's security headers on every response, e.g. a page CSP.
    response_headers: Mapping[str, str] = field(default_factory=dict)
    # Validates the service's own settings when its app is created (raises SystemExit with the
    # reason), so a misconfigured service refuses to start instead of failing on first use.
    preflight: Callable[[], None] | None = None
    # `ducha run`: services start in ascending `start_order` (the event flow: producers first).
    start_order: int = 100
    # `ducha run --demo`: environment for every process, and a module run (`python -m`) once all
    # services answer /health.
    demo_env: Mapping[str, str] = field(default_factory=dict)
    demo_module: str | None = None
    # `ducha run`: why this service is left out given the environment (None: start it), and a line
    # printed once it runs, given its base URL and whether --demo was asked for.
    run_skip: Callable[[Mapping[str, str]], str | None] | None = None
    run_banner: Callable[[str, bool], str] | None = None


@dataclass
class Kernel:
    """Everything a service's handlers need, created once per process in the lifespan."""

    spec: ServiceSpec
    settings: ServiceSettings
    nc: NATS
    store: EventStore
    engine: Engine
    commands: CommandRunner
    verifier: TokenVerifier
    clock: Clock
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    reactors: dict[str, ReactionRunner] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    async def wait_for(self, sequence: int, timeout: float | None = None) -> bool:
        wait = self.settings.read_wait_seconds if timeout is None else timeout
        results = await asyncio.gather(*(r.wait_for(sequence, wait) for r in self.runners.values()))
        return all(results)

    async def catch_up(self, timeout: float | None = None) -> bool:
        """Wait until every projection has applied everything in the log now (for commands that
        decide on projected facts of other contexts)."""
        return await self.wait_for(await self.store.last_sequence(), timeout)

    def runner(self, name: str) -> ProjectionRunner:
        return self.runners[name]
