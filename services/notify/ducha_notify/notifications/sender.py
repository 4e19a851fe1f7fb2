"""Sends what the outbox holds: e-mail over SMTP and robot messages to a unit's WeCom/DingTalk
subscription. Each send runs in its own task with a timeout, so an unreachable mail server or a
slow robot delays only its own message. Every attempt ends in NotificationSent or
NotificationFailed (final after the attempt limit), with a command id derived from
(notification, channel, address, attempt): recorded once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ducha.contracts import SYSTEM_ACTOR
from ducha.contracts.notify import Channel, NotificationFailed, NotificationSent, WebhookFormat
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext

from ..runtime import Runtime, wait_or_timeout
from ..webhooks import formats
from ..webhooks.domain import SubscriptionState, subscription_key
from ..webhooks.outbound import SEAL_BROKEN, Poster
from ..webhooks.queries import subscription_row
from ..webhooks.sealing import SealBroken, subscription_secret
from .domain import notification_key
from .mail import ChannelUnconfigured
from .queries import pending

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

log = logging.getLogger("ducha.notify.sender")
MAX_PARALLEL = 16


class Permanent(Exception):
    """A delivery that no retry can make succeed (channel not configured, subscription gone)."""


class NotificationSender:
    def __init__(self, kernel: Kernel, rt: Runtime) -> None:
        self.kernel = kernel
        self.rt = rt
        self.wake = asyncio.Event()
        self.inflight: set[tuple[str, str, str]] = set()
        self.attempts: dict[tuple[str, str, str], int] = {}
        self.not_before: dict[tuple[str, str, str], float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.limit = asyncio.Semaphore(MAX_PARALLEL)
        self.reported: set[tuple[str, str]] = set()  # permanent failures already logged
        self.passes = 0  # looks at what is pending (a test waits on it rather than on the clock)

    def poke(self) -> None:
        self.wake.set()

    async def run(self) -> None:
        runner = self.kernel.runners["notify_notifications"]
        with contextlib.suppress(TimeoutError):
            await runner.catch_up(timeout=60)  # never resend what the log already says was sent
        try:
            while True:
                rows = await asyncio.to_thread(self._pending)
                now = time.monotonic()
                for row in rows:
                    key = (row["notification_id"], row["channel"], row["address"])
                    if key in self.inflight or self.not_before.get(key, 0) > now:
                        continue
                    if self.attempts.get(key, 0) > row["attempts"]:
                        continue  # our last outcome is not projected yet
                    self.inflight.add(key)
                    task = asyncio.create_task(self._send(row, key))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                self.passes += 1
                self.wake.clear()
                await wait_or_timeout(self.wake, self.rt.settings.poll_seconds)
        finally:
            for task in list(self.tasks):
                task.cancel()

    def _pending(self) -> list[dict[str, Any]]:
        with self.kernel.engine.connect() as conn:
            return pending(conn)

    async def _send(self, row: dict[str, Any], key: tuple[str, str, str]) -> None:
        attempt = max(row["attempts"], self.attempts.get(key, 0)) + 1
        try:
            async with self.limit:
                error, permanent = await self._outcome(row)
            settings = self.rt.settings
            if error is None:
                payload: Any = NotificationSent(channel=Channel(row["channel"]), address=row["address"],
                                                person_id=row["person_id"], attempt=attempt)
            else:
                final = permanent or attempt >= settings.send_max_attempts
                payload = NotificationFailed(channel=Channel(row["channel"]), address=row["address"],
                                             person_id=row["person_id"], attempt=attempt, error=error[:500], final=final)
                self.not_before[key] = time.monotonic() + settings.send_backoff_seconds * 2 ** (attempt - 1)
            ctx = CommandContext(SYSTEM_ACTOR, derived_id("notify-send", *key, str(attempt)))
            result = await self.kernel.commands.run(notification_key(row["notification_id"]), ctx, lambda _l: [payload])
            self.attempts[key] = attempt
            await self.kernel.runners["notify_notifications"].wait_for(result.last_sequence, timeout=5)
        except Exception as exc:  # noqa: BLE001 - try again on the next round
            log.error("sending %s failed to record: %r", key, exc)
        finally:
            self.inflight.discard(key)
            self.wake.set()

    async def _outcome(self, row: dict[str, Any]) -> tuple[str | None, bool]:
        """(None, _) when delivered, else (the error, whether it is permanent)."""
        try:
            return await self._deliver(row), False
        except Permanent as exc:
            if (row["channel"], str(exc)) not in self.reported:  # once, not once per message
                self.reported.add((row["channel"], str(exc)))
                log.warning("%s notifications are not delivered, not retried: %s", row["channel"], exc)
            return str(exc), True

    async def _deliver(self, row: dict[str, Any]) -> str | None:
        """None when delivered, else the error."""
        subject = row["subject"]
        try:
            if row["channel"] == Channel.EMAIL.value:
                body = row["body"].replace("{recipient_name}", row["name"] or "您好")
                message_key = f"{row['notification_id']}.{hashlib.sha256(row['address'].lower().encode()).hexdigest()[:12]}"
                await self.rt.mailer.send(row["address"], row["name"], subject, body, message_key)
                return None
            return await self._robot(row)
        except ChannelUnconfigured as exc:
            raise Permanent(f"not configured: {exc}") from exc
        except Permanent:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is an outcome to record
            return f"{type(exc).__name__}: {exc}"

    async def _robot(self, row: dict[str, Any]) -> str | None:
        def read() -> dict[str, Any] | None:
            with self.kernel.engine.connect() as conn:
                return subscription_row(conn, row["address"])

        sub = await asyncio.to_thread(read)
        if sub is None or not sub["active"]:
            raise Permanent("the robot subscription is gone")
        text = row["body"].replace("{recipient_name}", "各位")
        body = formats.robot_text(WebhookFormat(sub["format"]), row["subject"], text)
        secret = subscription_secret(self.rt.key, sub["id"])
        headers = {"Content-Type": "application/json; charset=utf-8",
                   formats.SIGNATURE_HEADER: formats.sign(secret, body, int(time.time())),
                   formats.DELIVERY_HEADER: derived_id("robot", row["notification_id"], sub["id"])}
        state = SubscriptionState.of(await self.kernel.store.load(subscription_key(sub["id"])))
        try:
            url = state.target(self.rt.key)
        except SealBroken as exc:
            raise Permanent(SEAL_BROKEN) from exc
        async with Poster(self.rt.allow, self.rt.settings.webhook_timeout_seconds) as http:
            outcome = await http.post(url, body, headers)
        return None if outcome.ok else outcome.reason
