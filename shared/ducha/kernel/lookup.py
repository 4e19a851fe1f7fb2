"""Finding what a command addresses by id when the read model may lag the log.

A command sent right after the one that created its aggregate must never answer 404: a service
that does not find the thing in its projection waits until the projection has applied the log up
to its current end. Found then: go on. Still missing with the projection caught up: it does not
exist (404). Not caught up in time: 503 with Retry-After (`NotYetVisible`), safe to retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .errors import NotFound, NotYetVisible

if TYPE_CHECKING:
    from .service import Kernel

T = TypeVar("T")


async def settled(
    kernel: Kernel,
    read: Callable[[], T],
    ready: Callable[[T], bool],
    missing: str,
    *,
    unseen: str | None = None,
    projections: tuple[str, ...] = (),
) -> T:
    """`read()` (run in a thread) once `ready(value)` holds, waiting for the projections (all of
    the service's, or those named) to reach the log's current end if needed. Raises `NotFound(missing)`
    when the caught-up projection still lacks it, `NotYetVisible` when it could not catch up in time."""
    value = await asyncio.to_thread(read)
    if ready(value):
        return value
    if not await caught_up(kernel, projections):
        value = await asyncio.to_thread(read)
        if ready(value):
            return value
        raise NotYetVisible(unseen or f"{missing}: not yet visible to the {kernel.spec.name} service; retry shortly")
    value = await asyncio.to_thread(read)
    if ready(value):
        return value
    raise NotFound(missing)


async def caught_up(kernel: Kernel, projections: tuple[str, ...] = (), timeout: float | None = None) -> bool:
    """Wait (up to `timeout`, default the service's read wait) until the projections have applied
    everything in the log now; False when they have not in time."""
    target = await kernel.store.last_sequence()
    wait = kernel.settings.read_wait_seconds if timeout is None else timeout
    if not projections:
        return await kernel.wait_for(target, wait)
    results = await asyncio.gather(*(kernel.runner(name).wait_for(target, wait) for name in projections))
    return all(results)


async def require_caught_up(
    kernel: Kernel, what: str, projections: tuple[str, ...] = (), timeout: float | None = None
) -> None:
    """For a command deciding on what the whole log says now (a spot check's population): 503 when
    the projections cannot catch up in time."""
    if not await caught_up(kernel, projections, timeout):
        raise NotYetVisible(f"the {kernel.spec.name} service has not yet applied the log up to now "
                            f"({what}); retry shortly")
