"""A faster equivalent of nats-py's header-block parser.

Every stored event carries a few headers (message id, batch ids), and nats-py 2.16 checks each
character of each header name for whitespace in a Python generator: ~40% of the main thread's time
when a projection replays a long log. This keeps its exact rules (skip lines without a colon,
non-ASCII names and names with whitespace; strip; decode values as UTF-8 with replacement) with the
whitespace check done by one regular expression (`\\s` matches exactly what `str.isspace` does).
Installed once by the event store, before any message is read.

Also the log follower's read path, nats-py 2.16 internals kept here: the follower reads a
subscription's pending queue itself, and for its subscriptions (`follow_fast`) an event message
skips nats-py's Msg and header parsing (below, `_process_msg`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nats.aio.client
from nats.aio.msg import Msg

# One event message of a follower's subscription, as the follower reads it: subject, data,
# stream sequence, consumer sequence, pending after it, consumer name.
Parts = tuple[str, bytes, int, int, int, str]

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


def pending_queue(sub: Any) -> asyncio.Queue[Msg | Parts]:
    """The queue nats-py puts a callback-less subscription's messages into. Reading it directly
    (instead of a callback per message feeding a queue of our own) saves a coroutine call and a
    queue hop per message, and keeps flow control honest: the ordered consumer answers the
    server's flow-control requests once *we* have taken the messages, so the server pauses when
    the reader is behind instead of filling memory."""
    inner = getattr(sub, "_sub", sub)  # a JetStream PushSubscription wraps the core subscription
    queue: asyncio.Queue[Msg | Parts] = inner._pending_queue
    return queue


async def taken(sub: Any, msgs: list[Msg | Parts]) -> None:
    """Tell nats-py that `msgs` were taken from its pending queue (as `next_msg` does): its byte
    count drives the slow-consumer limit, and `task_done` what a drain waits for. Then answer a
    flow-control request whose messages are all taken now: nats-py itself looks only every 250 ms,
    and the server sends nothing more until answered."""
    inner = getattr(sub, "_sub", sub)
    inner._pending_size -= sum(len(m[1]) if isinstance(m, tuple) else len(m.data) for m in msgs)
    queue = inner._pending_queue
    for _ in msgs:
        queue.task_done()
    jsi = getattr(inner, "_jsi", None)
    if jsi is not None and jsi._fcr and jsi._fciseq - queue.qsize() >= jsi._fcd:
        reply, jsi._fcr, jsi._fcd = jsi._fcr, None, 0
        await inner._conn.publish(reply)


_FAST = "_ducha_fast"
_ORIGINAL_PROCESS_MSG = nats.aio.client.Client._process_msg


def follow_fast(sub: Any) -> None:
    """Have the event messages of this ordered push subscription (no callback) queued as `Parts`
    instead of nats-py Msgs. Kept across nats-py's own consumer resets (same Subscription)."""
    inner = getattr(sub, "_sub", sub)
    jsi = getattr(inner, "_jsi", None)
    if inner._cb is None and inner._future is None and jsi is not None and jsi._ordered:
        setattr(inner, _FAST, True)


async def _process_msg(self: Any, sid: int, subject: bytes, reply: bytes, data: bytes,
                       headers: bytes) -> None:
    """nats-py's `_process_msg` with a shortcut for an event message (it has a body, so it is
    never a flow-control or heartbeat message) of a `follow_fast` subscription: the same
    bookkeeping (statistics, the ordered consumer's sequences, slow-consumer limit, flow control's
    count, heartbeat's last reply) without building a Msg or parsing headers nobody reads (~25 µs
    of the follower's ~100 µs per event). Anything unusual (a consumer sequence nats-py does not
    expect, a JetStream domain reply, a full queue) takes nats-py's own path."""
    sub = self._subs.get(sid)
    if sub is None or not data or not reply or not getattr(sub, _FAST, False):
        return await _ORIGINAL_PROCESS_MSG(self, sid, subject, reply, data, headers)
    t = reply.split(b".")
    jsi = sub._jsi
    size = len(data)
    limit = sub._pending_bytes_limit
    if (len(t) != 9 or t[0] != b"$JS" or t[1] != b"ACK" or int(t[6]) != jsi._dseq
            or (limit > 0 and sub._pending_size + size >= limit)):
        return await _ORIGINAL_PROCESS_MSG(self, sid, subject, reply, data, headers)
    dseq, sseq = jsi._dseq, int(t[5])
    try:
        sub._pending_queue.put_nowait((subject.decode(), data, sseq, dseq, int(t[8]), t[3].decode()))
    except asyncio.QueueFull:  # nothing changed yet: nats-py's path reports the slow consumer
        return await _ORIGINAL_PROCESS_MSG(self, sid, subject, reply, data, headers)
    stats = self.stats
    stats["in_msgs"] += 1
    stats["in_bytes"] += size
    sub._received += 1
    jsi._active = True
    jsi._dseq = dseq + 1
    jsi._sseq = sseq
    sub._pending_size += size
    jsi._fciseq += 1
    jsi._cmeta = reply.decode()


def install() -> None:
    client = nats.aio.client.Client
    if getattr(client, "_parse_header_lines", None) not in (None, parse_header_lines):
        client._parse_header_lines = staticmethod(parse_header_lines)  # type: ignore[method-assign]
    if client._process_msg is _ORIGINAL_PROCESS_MSG:
        client._process_msg = _process_msg  # type: ignore[method-assign]


def parts(msg: Msg) -> Parts:
    """A Msg nats-py queued itself (an empty body, a JetStream domain's reply) as `Parts`.
    Replies: v1 $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>, v2 with
    <domain>.<account> after ACK and a random token at the end."""
    t = msg.reply.split(".")
    if len(t) == 9:
        return msg.subject, msg.data, int(t[5]), int(t[6]), int(t[8]), t[3]
    return msg.subject, msg.data, int(t[7]), int(t[8]), int(t[10]), t[5]
