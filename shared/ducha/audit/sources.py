"""Where `verify` reads from: a live stream (NATS URL or connection + stream name) or an export
file (offline, no NATS)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS

from ..contracts import registry
from ..kernel.eventstore import EventStore
from ..kernel.subjects import EVENT_STREAM
from .chain import AUDIT_STREAM, Checkpoint, leaf
from .checkpoint import load_checkpoints, read_log
from .verify import Verifier, VerifyReport

EXPORT_FORMAT = "ducha-audit-export/1"


async def verify_live(
    nc_or_url: NATS | str,
    stream: str = EVENT_STREAM,
    audit_stream: str = AUDIT_STREAM,
) -> VerifyReport:
    """Walk the whole stream in log order and check it against its checkpoints."""
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
        first, last = int(info.state.first_seq), int(info.state.last_seq)
        if last:
            async for seq, subject, body in read_log(store, first - 1, last):
                verifier.add(seq, *leaf(subject, body), subject=subject, body=body)
        return verifier.finish()
    finally:
        if isinstance(nc_or_url, str):
            await nc.close()


def body_of(line: dict[str, Any]) -> bytes:
    if "body_b64" in line:
        return base64.b64decode(line["body_b64"])
    return str(line["body"]).encode("utf-8")


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                try:
                    item = json.loads(raw)
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: not a JSON line ({exc})") from None
                item["_line"] = number
                yield item


def verify_file(path: str | Path) -> VerifyReport:
    """Check an export file offline: recompute every leaf and the rolling hash, check included
    aggregates' hash chains, compare with the checkpoints (and the header's final hash) it carries."""
    path = Path(path)
    items = list(read_export(path))
    if not items or items[0].get("type") != "header" or items[0].get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path} is not a Ducha audit export ({EXPORT_FORMAT})")
    header = items[0]
    checkpoints = [Checkpoint.from_dict(i) for i in items if i.get("type") == "checkpoint"]
    verifier = Verifier(f"{path.name} (offline)", checkpoints)
    for item in items[1:]:
        kind = item.get("type")
        if kind == "event":
            subject, body = str(item["subject"]), body_of(item)
            verifier.add(int(item["seq"]), *leaf(subject, body), subject=subject, body=body)
        elif kind == "leaf":
            verifier.add(int(item["seq"]), str(item["subject_sha256"]), str(item["body_sha256"]))
    report = verifier.finish()
    end, expected = int(header.get("last_sequence", 0)), header.get("chain_hash")
    if report.last_sequence != end or (expected and report.chain_hash != expected):
        verifier._problem("checkpoint_mismatch", end, None,
                          f"the header records {end} events ending in hash {str(expected)[:16]}…, the file "
                          f"gives {report.last_sequence} ending in {report.chain_hash[:16]}…")
        report.problems.sort(key=lambda p: (p.sequence or 0, p.kind))
    return report


async def verify(source: str | Path | NATS, stream: str = EVENT_STREAM) -> VerifyReport:
    """`source`: an export file path, a NATS URL (nats://...) or a connected NATS client."""
    if isinstance(source, NATS):
        return await verify_live(source, stream)
    text = str(source)
    if text.startswith(("nats://", "tls://", "ws://", "wss://")):
        return await verify_live(text, stream)
    return verify_file(Path(text))
