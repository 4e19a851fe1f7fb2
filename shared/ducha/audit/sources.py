"""Where `verify` reads from: a live stream (NATS URL or connection + stream name) or an export
file (offline, no NATS)."""

from __future__ import annotations

from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from ..contracts import registry
from ..kernel.eventstore import EventStore
from ..kernel.subjects import EVENT_STREAM
from .chain import AUDIT_STREAM, AuditKey
from .checkpoint import load_checkpoints, read_log
from .offline import EXPORT_FORMAT, body_of, read_export, verify_file
from .verify import Verifier, VerifyReport

__all__ = ["EXPORT_FORMAT", "body_of", "read_export", "verify", "verify_file", "verify_live"]


async def verify_live(
    nc_or_url: NATS | str,
    stream: str = EVENT_STREAM,
    audit_stream: str = AUDIT_STREAM,
    key: AuditKey | None = None,
) -> VerifyReport:
    """Walk the whole stream in log order and check it against its checkpoints (recomputing every
    commitment needs the office's audit key; default `AuditKey.from_environment()`)."""
    key = key or AuditKey.from_environment()
    nc = await nats.connect(nc_or_url) if isinstance(nc_or_url, str) else nc_or_url
    try:
        js = nc.jetstream()
        try:
            checkpoints = await load_checkpoints(js, audit_stream)
        except nats.js.errors.NotFoundError:
            checkpoints = []
        checkpoints = [c for c in checkpoints if c.stream == stream]
        store = EventStore(nc, registry, stream=stream)
        info = await js.stream_info(stream)
        verifier = Verifier(f"{stream} (live)", checkpoints)
        for c in checkpoints:
            if c.key_id != key.key_id:
                verifier._problem("checkpoint_mismatch", c.up_to_sequence, None,
                                  f"checkpoint at sequence {c.up_to_sequence} was recorded with audit key "
                                  f"{c.key_id}, not this one ({key.key_id}): verify with the office's key")
                break
        first, last = int(info.state.first_seq), int(info.state.last_seq)
        if last:
            async for seq, subject, body in read_log(store, first - 1, last):
                verifier.add(seq, key.leaf(subject, body)[1], subject=subject, body=body)
        return verifier.finish()
    finally:
        if isinstance(nc_or_url, str):
            await nc.close()


async def verify(source: str | Path | NATS, stream: str = EVENT_STREAM, key: AuditKey | None = None) -> VerifyReport:
    """`source`: an export file path, a NATS URL (nats://...) or a connected NATS client."""
    if isinstance(source, NATS):
        return await verify_live(source, stream, key=key)
    text = str(source)
    if text.startswith(("nats://", "tls://", "ws://", "wss://")):
        return await verify_live(text, stream, key=key)
    return verify_file(Path(text))
