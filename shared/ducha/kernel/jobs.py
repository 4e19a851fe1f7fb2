"""Periodic jobs: the one way a service runs something every N seconds.

    scan = periodic("warning-scan", 60, tick)                # tick: async (kernel) -> None
    scan = periodic("warning-scan", lambda k: k.extras["settings"].scan_seconds, tick,
                    catch_up_first=True)
    ServiceSpec(..., background=(scan,))

A run that raises is logged and the job goes on (the next run retries); cancelling the task (the
service stopping) stops it, also in the middle of a run or a pause. Runs never overlap: the pause
starts when a run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import Kernel

log = logging.getLogger("ducha.jobs")

Job = Callable[["Kernel"], Coroutine[Any, Any, None]]
Every = float | Callable[["Kernel"], float]


def periodic(
    name: str,
    every_seconds: Every,
    fn: Callable[[Kernel], Awaitable[None]],
    *,
    first_after: float = 0.0,
    catch_up_first: bool = False,
    catch_up_timeout: float = 30.0,
) -> Job:
    """A background job for `ServiceSpec.background`: `fn(kernel)` after `first_after` seconds,
    then every `every_seconds` (a number, or a function of the kernel, read once at start) after
    the previous run ended. With `catch_up_first`, the service's projections first catch up with
    the log (bounded by `catch_up_timeout`), so a job deciding on projected facts starts on a
    current view."""

    async def job(kernel: Kernel) -> None:
        interval = every_seconds(kernel) if callable(every_seconds) else float(every_seconds)
        if catch_up_first:
            with contextlib.suppress(Exception):
                await kernel.catch_up(timeout=catch_up_timeout)
        await run_every(name, interval, lambda: fn(kernel), first_after=first_after)

    job.__name__ = job.__qualname__ = name.replace("-", "_")
    return job


async def run_every(
    name: str, interval: float, run: Callable[[], Awaitable[None]], *, first_after: float = 0.0
) -> None:
    """Call `run()` every `interval` seconds until cancelled; a failing run is logged, not fatal."""
    if interval <= 0:
        raise ValueError(f"job {name}: the interval must be positive, not {interval}")
    if first_after > 0:
        await asyncio.sleep(first_after)
    failures = 0
    while True:
        try:
            await run()
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            log.error("job %s failed (%d in a row): %r", name, failures, exc,
                      exc_info=failures == 1)
        await asyncio.sleep(interval)


__all__ = ["Job", "periodic", "run_every"]
