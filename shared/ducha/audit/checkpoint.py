"""Checkpoints: the rolling hash of the log, recorded now and then in the DUCHA_AUDIT stream.

Computed outside the write path: a background job reads the events after the last checkpoint
(an ordered consumer, like any projection) and appends the next checkpoint with
`Nats-Expected-Last-Subject-Sequence` on the checkpoint subject and `Nats-Msg-Id`
`checkpoint:<up_to>`, so two instances can never record conflicting checkpoints.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from ..contracts import registry
from ..kernel.eventstore import DeliveryGap, EventStore
from ..kernel.runtime import Kernel
from ..kernel.subjects import EVENT_STREAM
from .chain import (
    AUDIT_PREFIX,
    AUDIT_STREAM,
    CHECKPOINT_SUBJECT,
    SCHEME,
    ZERO_HASH,
    AuditKey,
    Checkpoint,
    RollingHash,
)

log = logging.getLogger("ducha.audit")

MAX_EVENTS_PER_CHECKPOINT = 10_000  # keeps a checkpoint's digests under ~200 kB
WRONG_LAST_SEQUENCE = 10071


def audit_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=AUDIT_STREAM,
        description="Ducha audit checkpoints: rolling hashes of DUCHA_EVENTS. Never edited.",
        subjects=[f"{AUDIT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        discard=DiscardPolicy.NEW,
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        duplicate_window=120.0,
        deny_delete=True,
        deny_purge=True,
        allow_rollup_hdrs=False,
        allow_direct=False,
    )


async def ensure_audit_stream(js: JetStreamContext, replicas: int = 1) -> None:
    config = audit_stream_config(replicas)
    try:
        await js.stream_info(AUDIT_STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            pass  # created concurrently
    await js.update_stream(config)


def _store(nc_or_store: NATS | EventStore, stream: str) -> EventStore:
    if isinstance(nc_or_store, EventStore):
        return nc_or_store
    return EventStore(nc_or_store, registry, stream=stream)


async def last_checkpoint(js: JetStreamContext, audit_stream: str = AUDIT_STREAM) -> Checkpoint | None:
    try:
        raw = await js.get_last_msg(audit_stream, CHECKPOINT_SUBJECT)
    except nats.js.errors.NotFoundError:
        return None
    return Checkpoint.from_json(raw.data or b"{}", raw.seq or 0)


async def load_checkpoints(js: JetStreamContext, audit_stream: str = AUDIT_STREAM) -> list[Checkpoint]:
    """Every checkpoint, in the order recorded (leader reads, one per checkpoint)."""
    out: list[Checkpoint] = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(audit_stream, seq=seq, subject=CHECKPOINT_SUBJECT, next=True)
        except nats.js.errors.NotFoundError:
            return out
        assert raw.seq is not None
        out.append(Checkpoint.from_json(raw.data or b"{}", raw.seq))
        seq = raw.seq + 1


async def read_log(store: EventStore, after: int, until: int) -> AsyncIterator[tuple[int, str, bytes]]:
    """(sequence, subject, body) of every event in (after, until], resuming after delivery gaps."""
    position = after
    while position < until:
        try:
            async for seq, subject, body in store.read_all(after=position, until=until):
                position = seq
                yield seq, subject, body
            return
        except DeliveryGap as gap:
            log.warning("audit read: %s; resuming after sequence %d", gap, position)


class KeyMismatch(RuntimeError):
    """The last checkpoint was recorded with another audit key: every instance must share one."""


async def record_checkpoint(
    nc_or_store: NATS | EventStore,
    stream: str = EVENT_STREAM,
    audit_stream: str = AUDIT_STREAM,
    max_events: int = MAX_EVENTS_PER_CHECKPOINT,
    key: AuditKey | None = None,
) -> Checkpoint | None:
    """Record the next checkpoint (at most `max_events` past the last one). Returns it, or None
    when there is nothing new or another instance recorded one first. `key`: the office's audit
    key (default: `AuditKey.from_environment()`)."""
    key = key or AuditKey.from_environment()
    store = _store(nc_or_store, stream)
    js = store.js
    previous = await last_checkpoint(js, audit_stream)
    if previous is not None and previous.key_id != key.key_id:
        raise KeyMismatch(
            f"the last checkpoint (up to {previous.up_to_sequence}) was recorded with audit key "
            f"{previous.key_id}, this instance has {key.key_id}: give every instance the same DUCHA_AUDIT_KEY")
    after = previous.up_to_sequence if previous else 0
    last = await store.last_sequence()
    if last <= after:
        return None
    until = min(last, after + max_events)
    rolling = RollingHash(previous.chain_hash if previous else ZERO_HASH)
    up_to = after
    async for seq, subject, body in read_log(store, after, until):
        rolling.add(seq, key.leaf(subject, body)[1])
        up_to = seq
    if up_to == after:
        return None
    checkpoint = Checkpoint(
        up_to_sequence=up_to,
        events=len(rolling.digests),
        chain_hash=rolling.value,
        previous_chain_hash=previous.chain_hash if previous else ZERO_HASH,
        recorded_at=datetime.now(UTC).isoformat(),
        stream=stream,
        digests="".join(rolling.digests),
        scheme=SCHEME,
        key_id=key.key_id,
    )
    headers = {
        "Nats-Msg-Id": f"checkpoint:{up_to}",
        "Nats-Expected-Last-Subject-Sequence": str(previous.audit_sequence if previous else 0),
    }
    reply = await store.nc.request(CHECKPOINT_SUBJECT, checkpoint.to_json(), headers=headers, timeout=10)
    resp: dict[str, Any] = json.loads(reply.data)
    if "error" in resp:
        if resp["error"].get("err_code") == WRONG_LAST_SEQUENCE:
            log.info("checkpoint %d: another instance recorded one first", up_to)
            return None
        raise RuntimeError(f"DUCHA_AUDIT refused the checkpoint: {resp['error']}")
    if resp.get("duplicate"):
        return None
    return Checkpoint.from_json(checkpoint.to_json(), int(resp["seq"]))


async def checkpoint_until_current(nc_or_store: NATS | EventStore, stream: str = EVENT_STREAM,
                                   key: AuditKey | None = None) -> list[Checkpoint]:
    """Record checkpoints until the last one covers the log as it was when called."""
    key = key or AuditKey.from_environment()
    store = _store(nc_or_store, stream)
    await ensure_audit_stream(store.js)
    target = await store.last_sequence()
    recorded: list[Checkpoint] = []
    for _ in range(1_000_000):
        current = await last_checkpoint(store.js)
        if current is not None and current.up_to_sequence >= target:
            break
        checkpoint = await record_checkpoint(store, stream, key=key)
        if checkpoint is not None:
            recorded.append(checkpoint)
        elif current is None or (await last_checkpoint(store.js)) == current:
            break  # nothing readable to add
    return recorded


async def checkpoint_job(kernel: Kernel, interval: float | None = None) -> None:
    """Background job for `ServiceSpec.background`: every `interval` seconds (default
    $DUCHA_AUDIT_CHECKPOINT_SECONDS or 60), record checkpoints up to the end of the log — in one
    instance per period, however many run this job (recording is idempotent anyway)."""
    from .jobs import once_per_slot
    from .settings import audit_settings

    every = interval if interval is not None else audit_settings().checkpoint_seconds
    key_dir = getattr(kernel.settings, "key_dir", None)
    key = AuditKey.load(key_dir) if key_dir is not None else AuditKey.from_environment()
    replicas = getattr(kernel.settings, "stream_replicas", 1)
    await ensure_audit_stream(kernel.nc.jetstream(), replicas)

    async def run() -> None:
        await checkpoint_until_current(kernel.store, key=key)

    await once_per_slot(kernel.nc.jetstream(), "checkpoint", every, run, replicas=replicas, at_start=True)
