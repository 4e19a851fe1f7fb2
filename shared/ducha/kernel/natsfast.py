"""A faster equivalent of nats-py's header-block parser.

Every stored event carries a few headers (message id, batch ids), and nats-py 2.16 checks each
character of each header name for whitespace in a Python generator: ~40% of the main thread's time
when a projection replays a long log. This keeps its exact rules (skip lines without a colon,
non-ASCII names and names with whitespace; strip; decode values as UTF-8 with replacement) with the
whitespace check done by one regular expression (`\\s` matches exactly what `str.isspace` does).
Installed once by the event store, before any message is read.

Also the two places where the kernel reads a subscription's pending queue itself (the log follower):
nats-py 2.16 internals, kept here.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nats.aio.client
from nats.aio.msg import Msg

_WHITESPACE = re.compile(r"\s")
_CRLF = b"\r\n"


def parse_header_lines(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.split(_CRLF):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if _WHITESPACE.search(key):
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def pending_queue(sub: Any) -> asyncio.Queue[Msg]:
    """The queue nats-py puts a callback-less subscription's messages into. Reading it directly
    (instead of a callback per message feeding a queue of our own) saves a coroutine call and a
    queue hop per message, and keeps flow control honest: the ordered consumer answers the
    server's flow-control requests once *we* have taken the messages, so the server pauses when
    the reader is behind instead of filling memory."""
    inner = getattr(sub, "_sub", sub)  # a JetStream PushSubscription wraps the core subscription
    queue: asyncio.Queue[Msg] = inner._pending_queue
    return queue


async def taken(sub: Any, msgs: list[Msg]) -> None:
    """Tell nats-py that `msgs` were taken from its pending queue (as `next_msg` does): its byte
    count drives the slow-consumer limit, and `task_done` what a drain waits for. Then answer a
    flow-control request whose messages are all taken now: nats-py itself looks only every 250 ms,
    and the server sends nothing more until answered."""
    inner = getattr(sub, "_sub", sub)
    inner._pending_size -= sum(len(m.data) for m in msgs)
    queue = inner._pending_queue
    for _ in msgs:
        queue.task_done()
    jsi = getattr(inner, "_jsi", None)
    if jsi is not None and jsi._fcr and jsi._fciseq - queue.qsize() >= jsi._fcd:
        reply, jsi._fcr, jsi._fcd = jsi._fcr, None, 0
        await inner._conn.publish(reply)


def install() -> None:
    client = nats.aio.client.Client
    if getattr(client, "_parse_header_lines", None) not in (None, parse_header_lines):
        client._parse_header_lines = staticmethod(parse_header_lines)  # type: ignore[method-assign]
