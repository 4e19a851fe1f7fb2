"""The log follower's shortcut through nats-py (`natsfast.follow_fast`) queues exactly what nats-py's
own path delivers, keeps the ordered consumer's bookkeeping, and keeps flow control going."""

from __future__ import annotations

import asyncio

from ducha.kernel import natsfast
from ducha.kernel.eventstore import subscribe_ordered
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import StreamConfig


async def _fill(nc: NATS, n: int, size: int = 40) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="FAST", subjects=["fast.>"]))
    for i in range(n):
        body = b"" if i == 3 else (b"%06d" % i) * (size // 6)
        await js.publish(f"fast.{i % 3}.Ev{i % 2}", body, headers={"Nats-Msg-Id": f"m{i}", "X-N": str(i)})


async def _read(nc: NATS, n: int, fast: bool) -> list[natsfast.Parts]:
    natsfast.install()
    sub = await subscribe_ordered(nc.jetstream(), "FAST", ["fast.>"], 1, None)
    if fast:
        natsfast.follow_fast(sub)
    queue = natsfast.pending_queue(sub)
    out: list[natsfast.Parts] = []
    while len(out) < n:
        item = await asyncio.wait_for(queue.get(), 10)
        await natsfast.taken(sub, [item])
        assert isinstance(item, tuple) == (fast and len(out) != 3)  # the empty body: nats-py's path
        out.append(item if isinstance(item, tuple) else natsfast.parts(item))
    inner = sub._sub
    assert inner._pending_size == 0
    jsi = inner._jsi
    assert (jsi._dseq, jsi._sseq, jsi._fciseq) == (n + 1, n, n)
    assert jsi._cmeta is not None and jsi._cmeta.split(".")[5] == str(n)
    await sub.unsubscribe()
    return out


async def test_fast_path_delivers_what_nats_py_delivers(nc: NATS) -> None:
    await _fill(nc, 30)
    slow = await _read(nc, 30, fast=False)
    fast = await _read(nc, 30, fast=True)
    assert [p[:3] + (p[4],) for p in fast] == [p[:3] + (p[4],) for p in slow]
    assert [p[2] for p in fast] == list(range(1, 31))
    assert [p[3] for p in fast] == list(range(1, 31))  # consumer sequences, contiguous
    assert fast[3][1] == b""  # an empty body takes nats-py's own path, read the same


async def test_fast_path_keeps_flow_control_going(nc: NATS) -> None:
    # Far more than the server sends before it waits for a flow-control answer.
    n = 3000
    await _fill(nc, n, size=4000)
    got = await _read(nc, n, fast=True)
    assert got[-1][2] == n


def test_parts_of_a_domain_reply() -> None:
    msg = Msg(_client=None, subject="fast.1.Ev0", reply="$JS.ACK.dom.acc.FAST.c1.1.7.3.1700000000.5.x", data=b"d")
    assert natsfast.parts(msg) == ("fast.1.Ev0", b"d", 7, 3, 5, "c1")
