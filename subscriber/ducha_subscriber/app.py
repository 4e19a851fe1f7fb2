"""The subscriber as a FastStream application: one pull subscriber bound to the department's
system-made durable consumer on `DUCHA_DEPT` (departments may fetch and acknowledge, never create
consumers: with the stream name and the durable given, nats-py only looks the consumer up), one
message at a time so the order holds, acknowledged only after every sink has it.

`Follower` is the part without FastStream: decode (upcasting old versions), skip what the mirror
already holds, forward, mirror, typed handlers, each retried with backoff until it succeeds (so
nothing is skipped and the order holds; the fetched message is kept alive with `in_progress`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ducha_contracts import Registry, TooNew, UnknownEventType, registry
from faststream import AckPolicy, FastStream
from faststream.nats import JStream, NatsBroker, NatsUserPassword, PullSub
from faststream.nats.annotations import NatsMessage
from nats.errors import Error as NatsError

from .credentials import Credentials
from .forward import ForwardSink
from .handlers import Handlers
from .mirror import MirrorSink

log = logging.getLogger("ducha_subscriber")
KeepAlive = Callable[[], Awaitable[None]]


class Outdated(RuntimeError):
    """The stream holds an event this installation cannot read: upgrade ducha-contracts. Nothing
    is acknowledged, so after the upgrade it continues where it stopped."""


class Follower:
    def __init__(self, department: str, *, handlers: Handlers | None = None, mirror: MirrorSink | None = None,
                 forward: ForwardSink | None = None, retry_base: float = 1.0, retry_max: float = 30.0,
                 contracts: Registry = registry) -> None:
        self.department = department
        self.contracts = contracts
        self.handlers = handlers or Handlers()
        self.mirror = mirror
        self.forward = forward
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.processed = 0
        self.last_sequence = mirror.position().last_sequence if mirror else 0
        self.failure: Outdated | None = None
        self.stop_requested = asyncio.Event()

    async def process(self, data: bytes, stream_sequence: int | None, keepalive: KeepAlive | None = None) -> bool:
        """Handle one message; False if it was handled before (the mirror holds its sequence)."""
        try:
            event = self.contracts.decode(data)
        except (UnknownEventType, TooNew) as exc:
            raise Outdated(str(exc)) from None
        except ValueError as exc:  # not readable at all: stopping keeps it, skipping would lose it
            raise Outdated(f"unreadable message at DUCHA_DEPT sequence {stream_sequence}: {exc}") from None
        if self.mirror is not None:
            if stream_sequence is None:
                raise ValueError("the mirror needs JetStream messages (a stream sequence)")
            if stream_sequence <= self.last_sequence:
                return False
        seq = stream_sequence or 0
        if self.forward is not None:
            forward = self.forward
            await self._retry("forward", lambda: forward.send(event, data, seq), keepalive)
        if self.mirror is not None:
            mirror = self.mirror
            now = datetime.now(UTC)
            await self._retry("mirror", lambda: asyncio.to_thread(mirror.store, event, data, seq, now), keepalive)
        await self._retry("handlers", lambda: self.handlers.dispatch(event), keepalive)
        self.processed += 1
        self.last_sequence = max(self.last_sequence, seq)
        return True

    async def _retry(self, what: str, step: Callable[[], Awaitable[Any]], keepalive: KeepAlive | None) -> None:
        delay = self.retry_base
        while True:
            try:
                await step()
                return
            except Exception as exc:  # a sink's failure must never skip the event: retry in place
                if self.stop_requested.is_set():
                    raise
                log.warning("%s failed (%s); retrying in %.0f s", what, exc, delay)
            if keepalive is not None:
                try:
                    await keepalive()  # keep the message ours while we retry (ack wait)
                except NatsError as exc:
                    log.warning("could not extend the ack wait: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max)


def stream_sequence(msg: Any) -> int | None:
    """The DUCHA_DEPT sequence of a fetched message (None outside JetStream, e.g. TestNatsBroker)."""
    try:
        return int(msg.raw_message.metadata.sequence.stream)
    except (NatsError, AttributeError, ValueError):  # NotJSMessageError, or a test message without metadata
        return None


def make_broker(creds: Credentials, server: str, **options: Any) -> NatsBroker:
    return NatsBroker(server, security=NatsUserPassword(creds.user, creds.password), inbox_prefix=creds.inbox_prefix,
                      **options)


def build(creds: Credentials, server: str, follower: Follower, *, consumer: str | None = None,
          broker: NatsBroker | None = None, fetch_timeout: float = 5.0) -> tuple[FastStream, NatsBroker]:
    """The FastStream application following `consumer` (default: the department's first)."""
    broker = broker or make_broker(creds, server)
    durable = creds.consumer(consumer)
    app = FastStream(broker)

    @broker.subscriber(
        creds.subject, stream=JStream(creds.stream, declare=False), durable=durable,
        pull_sub=PullSub(batch_size=1, timeout=fetch_timeout),  # one at a time: a batch runs concurrently
        inbox_prefix=f"{creds.inbox_prefix}.".encode(), ack_policy=AckPolicy.MANUAL,
        title=f"{creds.subject}:{durable}",
        description=f"the part of DUCHA_DEPT that department {creds.department} may see",
    )
    async def on_message(msg: NatsMessage) -> None:
        if follower.failure is not None:
            return  # stopping: leave it unacknowledged
        try:
            await follower.process(msg.body, stream_sequence(msg), msg.in_progress)
        except Outdated as exc:
            follower.failure = exc
            log.error("%s", exc)
            app.exit()
            return
        await msg.ack()

    return app, broker
