"""Verifying an export file offline. Standard library only (with `chain` and `verify`): it is also
bundled into the standalone verifier auditors download (`ducha.audit.standalone`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .chain import LEGACY_SCHEME, SCHEME, Checkpoint, commitment, leaf, legacy_leaf
from .verify import Verifier, VerifyReport

EXPORT_FORMAT = "ducha-audit-export/2"  # keyed commitments (scheme hmac-sha256/1)
LEGACY_EXPORT_FORMAT = "ducha-audit-export/1"  # plain sha256 leaves (scheme sha256/1)


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


def _event_leaf(item: dict[str, Any], legacy: bool) -> tuple[str, str, bytes]:
    subject, body = str(item["subject"]), body_of(item)
    hashes = leaf(subject, body)
    return (legacy_leaf(*hashes) if legacy else commitment(str(item["salt"]), *hashes)), subject, body


def verify_file(path: str | Path) -> VerifyReport:
    """Check an export file offline: recompute every included event's leaf and the rolling hash,
    check included aggregates' hash chains, compare with the checkpoints (and the header's final
    hash) it carries."""
    path = Path(path)
    items = list(read_export(path))
    formats = (EXPORT_FORMAT, LEGACY_EXPORT_FORMAT)
    if not items or items[0].get("type") != "header" or items[0].get("format") not in formats:
        raise ValueError(f"{path} is not a Ducha audit export ({EXPORT_FORMAT}): ask the office for the export file")
    header = items[0]
    legacy = header["format"] == LEGACY_EXPORT_FORMAT
    scheme = LEGACY_SCHEME if legacy else SCHEME
    checkpoints = [Checkpoint.from_dict(i) for i in items if i.get("type") == "checkpoint"]
    verifier = Verifier(f"{path.name} (offline)", checkpoints)
    for c in checkpoints:
        if c.scheme != scheme or (not legacy and c.key_id != header.get("key_id")):
            verifier._problem("checkpoint_mismatch", c.up_to_sequence, None,
                              f"checkpoint at sequence {c.up_to_sequence} is of scheme {c.scheme} key "
                              f"{c.key_id or '-'}, the file of {scheme} key {header.get('key_id') or '-'}")
    for item in items[1:]:
        kind = item.get("type")
        try:
            if kind == "event":
                value, subject, body = _event_leaf(item, legacy)
                verifier.add(int(item["seq"]), value, subject=subject, body=body)
            elif kind == "commitment" and not legacy:
                verifier.add(int(item["seq"]), str(item["leaf"]))
            elif kind == "leaf" and legacy:
                verifier.add(int(item["seq"]), legacy_leaf(str(item["subject_sha256"]), str(item["body_sha256"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{item['_line']}: not a readable {kind} line ({exc!r})") from None
    report = verifier.finish()
    end, expected = int(header.get("last_sequence", 0)), header.get("chain_hash")
    if report.last_sequence != end or (expected and report.chain_hash != expected):
        verifier._problem("checkpoint_mismatch", end, None,
                          f"the header records {end} events ending in hash {str(expected)[:16]}…, the file "
                          f"gives {report.last_sequence} ending in {report.chain_hash[:16]}…")
        report.problems.sort(key=lambda p: (p.sequence or 0, p.kind))
    return report
