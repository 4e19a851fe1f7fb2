"""Reading notify's own tables from a route or a job: a function of a connection, run in a worker
thread (the kernel's `read`), off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ducha.kernel.lookup import read
from sqlalchemy import Connection

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

T = TypeVar("T")


def reader(kernel: Kernel, fn: Callable[[Connection], T]) -> Callable[[], T]:
    """`fn` on a connection of its own, as a plain function (e.g. for `lookup.facts_with_wait`)."""
    def run() -> T:
        with kernel.engine.connect() as conn:
            return fn(conn)

    return run


async def query(kernel: Kernel, fn: Callable[[Connection], T]) -> T:
    return await read(reader(kernel, fn))
