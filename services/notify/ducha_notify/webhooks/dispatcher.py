"""Webhook delivery: one worker (asyncio task) per active subscription, so a bad URL or a slow
receiver only ever delays its own subscription; among several instances, only on the instance
holding the subscription's lease (`leases.py`).

A worker follows its department's part of the department stream, `ducha.dept.<unit>.>` in
DUCHA_DEPT (so a webhook carries exactly what the disclosure policy lets the unit see, in the
public contract shape), with leader reads from the subscription's cursor (a DUCHA_DEPT sequence), which lives in the log itself (the subscription aggregate's attempt and
dead-letter events): after a restart it continues where it stopped. Each event is delivered in
order; a failure is retried with exponential backoff, up to the attempt limit, then dead-lettered
and the worker moves on. Every attempt is an event (WebhookDeliveryAttempted) whose command id is
derived from (subscription, delivery id, attempt), so nothing is recorded twice.

Delivery is at least once, in order per subscription: a POST the receiver accepted but whose
attempt was not recorded (the instance died in between) is sent again with the same delivery id.
A graceful stop lets an attempt already sent be recorded first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import nats.js.errors
from ducha.contracts import SYSTEM_ACTOR, DomainEvent
from ducha.contracts.notify import WebhookDeadLettered, WebhookDeliveryAttempted
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext
from ducha.kernel.jobs import run_every
from ducha.kernel.lookup import read

from ..deptstream.stream import DEPT_STREAM, dept_subject
from ..leases import Leases
from ..runtime import wait_or_timeout
from ..settings import NotifySettings
from . import formats
from .domain import SubscriptionState, delivery_id, subscription_key
from .outbound import SEAL_BROKEN, AllowList, Outcome, Poster
from .queries import active_subscription_ids
from .sealing import SealBroken, subscription_secret

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

log = logging.getLogger("ducha.notify.webhooks")


async def next_event(kernel: Kernel, department: str, after: int) -> tuple[int, str, bytes] | None:
    """(DUCHA_DEPT sequence, event type, disclosed bytes) of the department's next event."""
    try:  # a leader read (STREAM.MSG.GET next_by_subj), never a possibly stale follower
        raw = await kernel.store.js.get_msg(DEPT_STREAM, seq=after + 1, subject=dept_subject(department), next=True)
    except nats.js.errors.NotFoundError:
        return None
    assert raw.seq is not None and raw.subject is not None
    return raw.seq, raw.subject.rpartition(".")[2], raw.data or b""


class WebhookWorker:
    def __init__(self, kernel: Kernel, subscription_id: str, settings: NotifySettings, key: bytes,
                 allow: AllowList) -> None:
        self.kernel = kernel
        self.id = subscription_id
        self.settings = settings
        self.allow = allow
        self.key = key
        self.secret = subscription_secret(key, subscription_id)
        self.wake = asyncio.Event()

    async def state(self) -> SubscriptionState:
        return SubscriptionState.of(await self.kernel.store.load(subscription_key(self.id)))

    async def run(self) -> None:
        async with Poster(self.allow, self.settings.webhook_timeout_seconds) as http:
            position, generation = -1, -1
            while True:
                state = await self.state()
                if not state.exists or state.cancelled:
                    return
                if state.generation != generation or position < state.cursor:
                    position, generation = state.cursor, state.generation
                found = await next_event(self.kernel, state.unit_id, position)
                if found is None:
                    self.wake.clear()
                    await wait_or_timeout(self.wake, self.settings.poll_seconds)
                    continue
                seq, event_type, data = found
                if not state.wants(event_type):
                    position = seq
                    continue
                if await self.deliver(http, state, seq, event_type, data):
                    position = seq

    async def deliver(self, http: Poster, state: SubscriptionState,
                      seq: int, event_type: str, data: bytes) -> bool:
        """Deliver one event until it succeeds or is dead-lettered; False if the subscription
        changed meanwhile (cancelled or replayed)."""
        did = delivery_id(self.id, state.generation, seq)
        body = formats.render(state.format, seq, data, did, self.id)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            formats.DELIVERY_HEADER: did,
            "X-Ducha-Sequence": str(seq),
            "X-Ducha-Event-Type": event_type,
            "X-Ducha-Subscription-Id": self.id,
        }
        attempt = state.attempts.get(did, 0)
        while True:
            attempt += 1
            # signed per attempt: a retry carries a fresh timestamp and the same delivery id
            headers[formats.SIGNATURE_HEADER] = formats.sign(self.secret, body, int(time.time()))
            outcome = await self._post(http, state, body, headers)
            await self._record_even_when_stopping(WebhookDeliveryAttempted(
                delivery_id=did, generation=state.generation, source_sequence=seq,
                source_event_type=event_type, attempt=attempt, ok=outcome.ok, status_code=outcome.status_code,
                error=outcome.reason, duration_ms=outcome.duration_ms), f"{did}:a{attempt}")
            if outcome.ok:
                return True
            if attempt >= self.settings.webhook_max_attempts:
                await self._record(WebhookDeadLettered(
                    delivery_id=did, generation=state.generation, source_sequence=seq,
                    source_event_type=event_type, attempts=attempt, last_error=outcome.reason), f"{did}:dead")
                return True
            delay = min(self.settings.webhook_backoff_seconds * 2 ** (attempt - 1), self.settings.webhook_backoff_max_seconds)
            self.wake.clear()
            await wait_or_timeout(self.wake, delay)
            fresh = await self.state()
            if fresh.cancelled or fresh.generation != state.generation:
                return False

    async def _post(self, http: Poster, state: SubscriptionState, body: bytes, headers: dict[str, str]) -> Outcome:
        try:
            url = state.target(self.key)
        except SealBroken:
            return Outcome(False, None, SEAL_BROKEN, 0)
        return await http.post(url, body, headers)

    async def _record_even_when_stopping(self, payload: DomainEvent, tag: str) -> None:
        """Record an attempt that was made; a stop arriving meanwhile waits for the record (bounded
        by the append timeout), so a graceful stop never resends what the receiver already has."""
        task = asyncio.ensure_future(self._record(payload, tag))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task], timeout=4)
            raise

    async def _record(self, payload: DomainEvent, tag: str) -> None:
        ctx = CommandContext(SYSTEM_ACTOR, derived_id("webhook-record", self.id, tag))
        await self.kernel.commands.run(subscription_key(self.id), ctx, lambda _l: [payload])


class WebhookDispatcher:
    """Starts and stops one worker per active subscription (from the subscriptions projection).
    Among several instances, a worker runs only where its subscription's lease is held."""

    def __init__(self, kernel: Kernel, settings: NotifySettings, key: bytes, allow: AllowList, leases: Leases) -> None:
        self.kernel = kernel
        self.settings = settings
        self.key = key
        self.allow = allow
        self.leases = leases
        self.workers: dict[str, tuple[WebhookWorker, asyncio.Task[None]]] = {}

    def poke(self, subscription_id: str | None = None) -> None:
        for sid, (worker, _task) in self.workers.items():
            if subscription_id is None or sid == subscription_id:
                worker.wake.set()

    async def run(self) -> None:
        """Every `poll_seconds`: a worker for each active subscription, none for the others."""
        try:
            await run_every("notify-webhook-workers", self.settings.poll_seconds, self.reconcile)
        finally:
            tasks = [task for _worker, task in self.workers.values()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=5)

    async def reconcile(self) -> None:
        active = await read(active_subscription_ids, self.kernel.engine)
        for sid in active:
            current = self.workers.get(sid)
            if current is None or current[1].done():
                if current is not None and current[1].done() and not current[1].cancelled():
                    exc = current[1].exception()
                    if exc is not None:
                        log.error("webhook worker %s stopped: %r; restarting", sid, exc)
                worker = WebhookWorker(self.kernel, sid, self.settings, self.key, self.allow)
                task = asyncio.create_task(self.leases.hold(f"webhook.{sid}", worker.run), name=f"webhook:{sid}")
                self.workers[sid] = (worker, task)
        for sid in list(self.workers):
            if sid not in active:
                self.workers.pop(sid)[1].cancel()
