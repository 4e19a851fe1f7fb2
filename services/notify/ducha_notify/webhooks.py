"""Webhook delivery: one worker (asyncio task) per active subscription, so a bad URL or a slow
receiver only ever delays its own subscription.

A worker follows its department's part of the department stream, `ducha.dept.<unit>.>` in
DUCHA_DEPT (so a webhook carries exactly what the disclosure policy lets the unit see, in the
public contract shape), with leader reads from the subscription's cursor (a DUCHA_DEPT sequence), which lives in the log itself (the subscription aggregate's attempt and
dead-letter events): after a restart it continues where it stopped. Each event is delivered in
order; a failure is retried with exponential backoff, up to the attempt limit, then dead-lettered
and the worker moves on. Every attempt is an event (WebhookDeliveryAttempted) whose command id is
derived from (subscription, delivery id, attempt), so nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import nats.js.errors
from ducha.contracts import SYSTEM_ACTOR, DomainEvent
from ducha.contracts.notify import WebhookDeadLettered, WebhookDeliveryAttempted
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext

from . import formats
from .deptstream import DEPT_STREAM, dept_subject
from .runtime import wait_or_timeout
from .settings import NotifySettings, subscription_secret
from .subscriptions import SubscriptionState, delivery_id, subscription_key

log = logging.getLogger("ducha.notify.webhooks")


async def next_event(kernel: Any, department: str, after: int) -> tuple[int, str, bytes] | None:
    """(DUCHA_DEPT sequence, event type, disclosed bytes) of the department's next event."""
    try:  # a leader read (STREAM.MSG.GET next_by_subj), never a possibly stale follower
        raw = await kernel.store.js.get_msg(DEPT_STREAM, seq=after + 1, subject=dept_subject(department), next=True)
    except nats.js.errors.NotFoundError:
        return None
    assert raw.seq is not None and raw.subject is not None
    return raw.seq, raw.subject.rpartition(".")[2], raw.data or b""


class WebhookWorker:
    def __init__(self, kernel: Any, subscription_id: str, settings: NotifySettings, key: bytes) -> None:
        self.kernel = kernel
        self.id = subscription_id
        self.settings = settings
        self.secret = subscription_secret(key, subscription_id)
        self.wake = asyncio.Event()

    async def state(self) -> SubscriptionState:
        return SubscriptionState.of(await self.kernel.store.load(subscription_key(self.id)))

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds, follow_redirects=False) as http:
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

    async def deliver(self, http: httpx.AsyncClient, state: SubscriptionState,
                      seq: int, event_type: str, data: bytes) -> bool:
        """Deliver one event until it succeeds or is dead-lettered; False if the subscription
        changed meanwhile (cancelled or replayed)."""
        did = delivery_id(self.id, state.generation, seq)
        body = formats.render(state.format, seq, data, did, self.id)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            formats.SIGNATURE_HEADER: formats.sign(self.secret, body),
            formats.DELIVERY_HEADER: did,
            "X-Ducha-Sequence": str(seq),
            "X-Ducha-Event-Type": event_type,
            "X-Ducha-Subscription-Id": self.id,
        }
        attempt = state.attempts.get(did, 0)
        while True:
            attempt += 1
            ok, status, error, ms = await self._post(http, state.url, body, headers)
            await self._record(WebhookDeliveryAttempted(
                delivery_id=did, generation=state.generation, source_sequence=seq,
                source_event_type=event_type, attempt=attempt, ok=ok, status_code=status,
                error=error[:500], duration_ms=ms), f"{did}:a{attempt}")
            if ok:
                return True
            if attempt >= self.settings.webhook_max_attempts:
                await self._record(WebhookDeadLettered(
                    delivery_id=did, generation=state.generation, source_sequence=seq,
                    source_event_type=event_type, attempts=attempt, last_error=error[:500]), f"{did}:dead")
                return True
            delay = min(self.settings.webhook_backoff_seconds * 2 ** (attempt - 1), self.settings.webhook_backoff_max_seconds)
            self.wake.clear()
            await wait_or_timeout(self.wake, delay)
            fresh = await self.state()
            if fresh.cancelled or fresh.generation != state.generation:
                return False

    async def _post(self, http: httpx.AsyncClient, url: str, body: bytes,
                    headers: dict[str, str]) -> tuple[bool, int | None, str, int]:
        started = time.monotonic()
        try:
            resp = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}", int((time.monotonic() - started) * 1000)
        ms = int((time.monotonic() - started) * 1000)
        if 200 <= resp.status_code < 300:
            return True, resp.status_code, "", ms
        return False, resp.status_code, f"HTTP {resp.status_code}: {resp.text[:200]}", ms

    async def _record(self, payload: DomainEvent, tag: str) -> None:
        ctx = CommandContext(SYSTEM_ACTOR, derived_id("webhook-record", self.id, tag))
        await self.kernel.commands.run(subscription_key(self.id), ctx, lambda _l: [payload])


class WebhookDispatcher:
    """Starts and stops one worker per active subscription (from the subscriptions projection)."""

    def __init__(self, kernel: Any, settings: NotifySettings, key: bytes) -> None:
        self.kernel = kernel
        self.settings = settings
        self.key = key
        self.workers: dict[str, tuple[WebhookWorker, asyncio.Task[None]]] = {}

    def poke(self, subscription_id: str | None = None) -> None:
        for sid, (worker, _task) in self.workers.items():
            if subscription_id is None or sid == subscription_id:
                worker.wake.set()

    async def run(self) -> None:
        from .projections import active_subscription_ids

        try:
            while True:
                active = await asyncio.to_thread(active_subscription_ids, self.kernel.engine)
                for sid in active:
                    current = self.workers.get(sid)
                    if current is None or current[1].done():
                        if current is not None and current[1].done() and not current[1].cancelled():
                            exc = current[1].exception()
                            if exc is not None:
                                log.error("webhook worker %s stopped: %r; restarting", sid, exc)
                        worker = WebhookWorker(self.kernel, sid, self.settings, self.key)
                        self.workers[sid] = (worker, asyncio.create_task(worker.run(), name=f"webhook:{sid}"))
                for sid in list(self.workers):
                    if sid not in active:
                        self.workers.pop(sid)[1].cancel()
                await asyncio.sleep(self.settings.poll_seconds)
        finally:
            tasks = [task for _worker, task in self.workers.values()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=5)
