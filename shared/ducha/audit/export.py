"""Export for inspection: the events of one round or one unit as a self-contained JSON-lines file.

    {"type": "header", "format": "ducha-audit-export/2", "what": {"round": "R1"}, ...}
    {"type": "event", "seq": 7, "subject": "ducha.ev....", "body": "<the stored JSON, verbatim>",
     "salt": "<salt(7)>"}
    {"type": "commitment", "seq": 8, "leaf": "<keyed commitment>"}              (another's event)
    {"type": "checkpoint", "up_to_sequence": 1000, "chain_hash": "...", ...}

The file covers the whole log from sequence 1 to `last_sequence`: included events in full with
their salts, every other event only as its keyed commitment (`ducha.audit.chain`), so
`ducha audit verify --file` (or the standalone verifier) recomputes the rolling hash and compares it
with the checkpoints without seeing, or being able to guess, another unit's ids or content.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS

from ..contracts import registry
from ..kernel.eventstore import EventStore
from ..kernel.subjects import EVENT_STREAM, check_token
from .chain import SCHEME, AuditKey, RollingHash
from .checkpoint import checkpoint_until_current, ensure_audit_stream, load_checkpoints, read_log
from .sources import EXPORT_FORMAT


def _tokens(subject: str) -> list[str]:
    # ducha.ev.<context>.<unit>.<aggregate_type>.<aggregate_id>.<event_type>
    return subject.split(".")


class RoundSelection:
    """A round's own aggregates, its teams/contents/spot checks/..., every problem reported in it
    (in every context), and the write-off ledger of the round."""

    def __init__(self, round_id: str) -> None:
        self.round_id = check_token(round_id, "round id")
        self._needle = f'"round_id":"{round_id}"'.encode()
        self.aggregates: set[str] = set()

    @staticmethod
    def key(subject: str) -> str:
        t = _tokens(subject)
        if len(t) >= 7 and t[4] == "problem":
            return f"problem:{t[3]}:{t[5]}"  # one problem across contexts
        return ".".join(t[2:6])

    def scan(self, subject: str, body: bytes) -> None:
        t = _tokens(subject)
        if len(t) < 7:
            return
        if (t[2], t[4], t[5]) in {("intake", "round", self.round_id), ("verification", "ledger", self.round_id)}:
            self.aggregates.add(self.key(subject))
        elif self._needle in body:
            try:
                payload = json.loads(body).get("payload", {})
            except ValueError:
                return
            if payload.get("round_id") == self.round_id:
                self.aggregates.add(self.key(subject))

    def includes(self, subject: str) -> bool:
        return self.key(subject) in self.aggregates


class UnitSelection:
    def __init__(self, unit_id: str) -> None:
        self.unit_id = check_token(unit_id, "unit id")

    def scan(self, subject: str, body: bytes) -> None:
        pass

    def includes(self, subject: str) -> bool:
        t = _tokens(subject)
        return len(t) > 3 and t[3] == self.unit_id


def _finish(out: Path, header: dict[str, Any], part: Path) -> None:
    """Header first, then the lines written meanwhile."""
    with out.open("w", encoding="utf-8") as f:
        f.write(json.dumps(header, ensure_ascii=False, separators=(",", ":")) + "\n")
        with part.open(encoding="utf-8") as lines:
            shutil.copyfileobj(lines, f)
    part.unlink()


def _event_line(seq: int, subject: str, body: bytes) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "event", "seq": seq, "subject": subject}
    try:
        line["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        import base64

        line["body_b64"] = base64.b64encode(body).decode()
    return line


async def export(
    nc_or_url: NATS | str,
    out: str | Path,
    *,
    round_id: str | None = None,
    unit_id: str | None = None,
    stream: str = EVENT_STREAM,
    checkpoint: bool = True,
    key: AuditKey | None = None,
) -> dict[str, Any]:
    """Write the export file; returns its header. With `checkpoint`, checkpoints are first
    recorded up to the end of the log so the whole file is covered by one. `key`: the office's
    audit key (default `AuditKey.from_environment()`)."""
    if (round_id is None) == (unit_id is None):
        raise ValueError("export either a round or a unit")
    key = key or AuditKey.from_environment()
    selection: RoundSelection | UnitSelection = RoundSelection(round_id) if round_id else UnitSelection(unit_id or "")
    nc = await nats.connect(nc_or_url) if isinstance(nc_or_url, str) else nc_or_url
    try:
        js = nc.jetstream()
        store = EventStore(nc, registry, stream=stream)
        await ensure_audit_stream(js)
        if checkpoint:
            await checkpoint_until_current(store, stream, key=key)
        checkpoints = [c for c in await load_checkpoints(js) if c.stream == stream and c.key_id == key.key_id]
        end = checkpoints[-1].up_to_sequence if checkpoint and checkpoints else await store.last_sequence()
        checkpoints = [c for c in checkpoints if c.up_to_sequence <= end]
        if isinstance(selection, RoundSelection):
            async for _seq, subject, body in read_log(store, 0, end):
                selection.scan(subject, body)
        rolling = RollingHash()
        included = excluded = 0
        out = Path(out)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False, dir=out.parent or ".",
                                         suffix=".part") as tmp:
            async for seq, subject, body in read_log(store, 0, end):
                salt, value = key.leaf(subject, body)
                rolling.add(seq, value)
                if selection.includes(subject):
                    line = {**_event_line(seq, subject, body), "salt": salt}
                    included += 1
                else:
                    line = {"type": "commitment", "seq": seq, "leaf": value}
                    excluded += 1
                tmp.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            for c in checkpoints:
                cp = {"type": "checkpoint", **json.loads(c.to_json()), "audit_sequence": c.audit_sequence}
                tmp.write(json.dumps(cp, separators=(",", ":")) + "\n")
        header = {
            "type": "header",
            "format": EXPORT_FORMAT,
            "what": {"round": round_id} if round_id else {"unit": unit_id},
            "created_at": datetime.now(UTC).isoformat(),
            "stream": stream,
            "scheme": SCHEME,
            "key_id": key.key_id,
            "first_sequence": 1 if end else 0,
            "last_sequence": end,
            "chain_hash": rolling.value,
            "events_included": included,
            "events_excluded": excluded,
            "checkpoints": len(checkpoints),
            "verify": "python3 ducha_verify.py <this file>  (or: ducha audit verify --file <this file>)",
        }
        await asyncio.to_thread(_finish, out, header, Path(tmp.name))
        return header
    finally:
        if isinstance(nc_or_url, str):
            await nc.close()
