"""Finding what a command addresses by id when the read model may lag the log.

A command sent right after the one that created its aggregate must never answer 404: a service
that does not find the thing in its projection waits until the projection has applied the log up
to its current end. Found then: go on. Still missing with the projection caught up: it does not
exist (404). Not caught up in time: 503 with Retry-After (`NotYetVisible`), safe to retry.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

from .errors import NotFound, NotYetVisible

if TYPE_CHECKING:
    from .service import Kernel

T = TypeVar("T")
P = ParamSpec("P")


async def read(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A blocking read (SQL on the service's engine) in a worker thread, off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _call(read_fn: Callable[[], T] | Callable[[], Awaitable[T]]) -> T:
    if inspect.iscoroutinefunction(read_fn):
        return await cast(Callable[[], Awaitable[T]], read_fn)()
    return await asyncio.to_thread(cast(Callable[[], T], read_fn))


async def facts_with_wait(
    kernel: Kernel,
    read_fn: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
    *,
    what: str,
    min_sequence: int | None = None,
    ready: Callable[[T], bool] | None = None,
    projections: tuple[str, ...] = (),
    timeout: float | None = None,
) -> T:
    """What a command or query needs from the projection, when the projection may lag the log.

    1. `read_fn()` (a plain function runs in a worker thread; an async one is awaited). Found (not
       None, and `ready(value)` when given): return it.
    2. Otherwise wait until the projections (all of the service's, or those named) have applied
       the log up to `min_sequence` (the client's own write) or, without one, up to the log's end
       now; then read again. Found: return it.
    3. Still missing: 404 `NotFound(what)` when the projections did catch up (it does not
       exist), else 503 `NotYetVisible` with Retry-After (safe to retry).

    A value that exists but is not `ready` after catching up is returned as it is: the caller
    decides (e.g. 409 "not fed back yet"). `what` is the 404 message, e.g. "no problem P-1"."""
    def found(value: T | None) -> bool:
        return value is not None and (ready is None or ready(value))

    value = await _call(read_fn)
    if found(value):
        return cast(T, value)
    wait = kernel.settings.read_wait_seconds if timeout is None else timeout
    if min_sequence:
        if projections:
            done = all(await asyncio.gather(
                *(kernel.runner(name).wait_for(min_sequence, wait) for name in projections)))
        else:
            done = await kernel.wait_for(min_sequence, wait)
    else:
        done = await caught_up(kernel, projections, wait)
    value = await _call(read_fn)
    if found(value):
        return cast(T, value)
    if not done:
        raise NotYetVisible(f"{what}: not yet visible to the {kernel.spec.name} service; retry shortly")
    if value is None:
        raise NotFound(what)
    return value


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
