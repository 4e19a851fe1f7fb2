"""The audit service's periodic jobs, run once per period across all of its instances.

Time is cut into slots of `every` seconds (shifted by `phase`); at each slot's start every instance
tries to claim the slot in the key-value bucket `ducha_audit_jobs` with a compare-and-set on the
entry it read, so exactly one instance runs the job for that slot, whatever the number of replicas.
An instance that is down at a slot's start simply does not compete; one that dies while running
leaves the next slot to the others. The bucket keeps one entry per job (history 1): it never grows.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

log = logging.getLogger("ducha.audit")

BUCKET = "ducha_audit_jobs"


async def claims_bucket(js: JetStreamContext, replicas: int = 1) -> Any:
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(KeyValueConfig(
                bucket=BUCKET, history=1, replicas=replicas,
                description="audit: the last period each job was claimed for (one instance per period)"))
        except BadRequestError:  # created concurrently
            return await js.key_value(BUCKET)


def slot_of(now: float, every: float, phase: float = 0.0) -> int:
    return math.floor((now - phase) / every)


async def claim(kv: Any, job: str, slot: int) -> bool:
    """True when this instance is the one to run `job` for `slot` (nobody claimed it yet)."""
    try:
        entry = await kv.get(job)
    except KeyNotFoundError:
        entry = None
    try:
        if entry is None:
            await kv.create(job, str(slot).encode())
            return True
        if int(bytes(entry.value or b"-1").decode()) >= slot:
            return False
        await kv.update(job, str(slot).encode(), last=entry.revision)
        return True
    except KeyWrongLastSequenceError:
        return False  # another instance claimed it first


async def once_per_slot(js: JetStreamContext, job: str, every: float, work: Callable[[], Awaitable[None]],
                        *, phase: float = 0.0, replicas: int = 1, at_start: bool = False) -> None:
    """Run `work` at the start of every slot of `every` seconds, in exactly one of the instances
    running this loop (until cancelled). With `at_start`, also for the current slot when nobody ran
    it yet. A failure of `work` is logged; the next slot tries again."""
    kv = await claims_bucket(js, replicas)
    now = time.time()
    slot = slot_of(now, every, phase) if at_start else slot_of(now, every, phase) + 1
    while True:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # Python 3.11's wait_for (inside nats-py) can swallow a cancellation: honour it here
            raise asyncio.CancelledError
        start = phase + slot * every
        await asyncio.sleep(max(0.0, start - time.time()))
        try:
            if await claim(kv, job, slot):
                await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from exc  # nats-py may turn a cancellation into its own error
            log.error("audit job %s failed for slot %d, next in %.0fs: %r", job, slot, every, exc)
        slot = max(slot + 1, slot_of(time.time(), every, phase) + 1)
