"""Tamper drills: copy a store (events and checkpoints) into another NATS server, changing it on
the way, to show that `verify` notices. Used by the tests; handy for a drill on a real copy."""

from __future__ import annotations

from collections.abc import Callable

from nats.aio.client import Client as NATS

from ..contracts import registry
from ..kernel.eventstore import EventStore, ensure_streams
from ..kernel.subjects import EVENT_STREAM
from .chain import AUDIT_STREAM, CHECKPOINT_SUBJECT
from .checkpoint import ensure_audit_stream, load_checkpoints, read_log

Log = list[tuple[str, bytes]]


async def read_events(nc: NATS, stream: str = EVENT_STREAM) -> Log:
    store = EventStore(nc, registry, stream=stream)
    return [(s, b) async for _seq, s, b in read_log(store, 0, await store.last_sequence())]


async def copy_store(source: NATS, target: NATS, modify: Callable[[Log], Log] | None = None) -> Log:
    """Re-publish every event of `source` into `target` in order (after `modify`), then its
    checkpoints, verbatim. Returns the log as published."""
    events = await read_events(source)
    if modify is not None:
        events = modify(list(events))
    js = target.jetstream()
    await ensure_streams(js)
    await ensure_audit_stream(js)
    for subject, body in events:
        await js.publish(subject, body, stream=EVENT_STREAM)
    for checkpoint in await load_checkpoints(source.jetstream(), AUDIT_STREAM):
        await js.publish(CHECKPOINT_SUBJECT, checkpoint.to_json(), stream=AUDIT_STREAM)
    return events
