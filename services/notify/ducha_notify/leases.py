"""Who among the notify instances does which side effect: leases in a JetStream key-value bucket.

Every instance runs a holder for each piece of work (the notification sender, the reminder scan,
one per webhook subscription). A holder takes the lease with a create-if-absent write, runs the work
while it renews the lease (a compare-and-set on the revision it holds) every third of the bucket's
TTL, and stops the work as soon as a renewal fails. The bucket's `max_age` is the lease TTL: an
instance that dies stops renewing, its entry expires and another instance's holder takes over
within about 4/3 of the TTL. A stopping instance releases its leases (a delete on its revision) so
the others take over at once. No consensus of our own: the atomicity is JetStream's
(`Nats-Expected-Last-Subject-Sequence`, replicated with the stream).

A holder that stalls longer than the TTL (a paused process) may overlap with its successor for
that moment; what it sends then is a repeat with the same delivery id (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyWrongLastSequenceError

log = logging.getLogger("ducha.notify.leases")

BUCKET = "ducha_notify_leases"


def instance_id() -> str:
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


class Leases:
    def __init__(self, kv: Any, owner: str, ttl: float) -> None:
        self.kv = kv
        self.owner = owner
        self.ttl = ttl
        self.held: dict[str, int] = {}  # lease name -> revision held

    @classmethod
    async def open(cls, js: Any, ttl: float, replicas: int, owner: str | None = None) -> Leases:
        """The bucket (created by the first instance); its TTL wins over this instance's setting,
        so every instance times leases alike."""
        try:
            kv = await js.key_value(BUCKET)
        except BucketNotFoundError:
            try:
                kv = await js.create_key_value(KeyValueConfig(
                    bucket=BUCKET, history=1, ttl=ttl, replicas=replicas,
                    description="notify: which instance does which work (entries expire unless renewed)"))
            except BadRequestError:  # another instance created it meanwhile, with other settings
                kv = await js.key_value(BUCKET)
        status = await kv.status()
        actual = float(status.ttl or ttl)
        if abs(actual - ttl) > 0.01:
            log.warning("lease bucket TTL is %.1f s (setting: %.1f s); using the bucket's", actual, ttl)
        return cls(kv, owner or instance_id(), actual)

    async def _acquire(self, name: str) -> int | None:
        try:
            return int(await self.kv.create(name, self.owner.encode()))
        except KeyWrongLastSequenceError:
            return None  # held by another instance
        except Exception as exc:  # noqa: BLE001 - NATS unavailable: not ours; try again later
            log.warning("taking lease %s failed: %r", name, exc)
            return None

    async def _renew(self, name: str, revision: int) -> int | None:
        try:
            return int(await self.kv.update(name, self.owner.encode(), last=revision))
        except Exception as exc:  # noqa: BLE001 - lost (taken over, expired) or unreachable: stop
            log.warning("lease %s lost: %r", name, exc)
            return None

    async def _release(self, name: str, revision: int) -> None:
        try:
            await self.kv.delete(name, last=revision)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            log.info("releasing lease %s: %r", name, exc)

    async def holder(self, name: str) -> str | None:
        """The instance holding `name` now (None: nobody)."""
        try:
            entry = await self.kv.get(name)
        except Exception:  # noqa: BLE001 - absent, deleted or expired
            return None
        return bytes(entry.value or b"").decode() or None

    async def hold(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` whenever this instance holds `name`, until `work` returns (done for good)
        or this is cancelled (the service stops)."""
        while True:
            revision = await self._acquire(name)
            if revision is None:
                # jitter, so two waiting instances do not always ask at the same moment
                await asyncio.sleep(self.ttl / 3 * random.uniform(0.8, 1.2))
                continue
            self.held[name] = revision
            task = asyncio.ensure_future(work())
            try:
                while True:
                    done, _pending = await asyncio.wait([task], timeout=self.ttl / 3)
                    if done:
                        break
                    renewed = await self._renew(name, revision)
                    if renewed is None:
                        break
                    revision = self.held[name] = renewed
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.wait([task], timeout=5)  # lets an attempt already made be recorded
                self.held.pop(name, None)
                await asyncio.shield(self._release(name, revision))
            if task.done() and not task.cancelled():
                exc = task.exception()
                if exc is None:
                    return
                log.error("work under lease %s failed: %r; taking it up again", name, exc)
                await asyncio.sleep(1.0)
