"""The hashes of tamper evidence: per-event leaves, the rolling chain hash over the whole log, and
the checkpoints that record it.

    leaf(n)  = sha256(subject) and sha256(body)                      (both hex)
    H(0)     = 64 zeros
    H(n)     = sha256(H(n-1) + "\\n" + str(n) + "\\n" + sha256(subject) + "\\n" + sha256(body))

The subject enters as its hash so that an export can carry an excluded event as its leaf alone
(nothing of another unit's ids or content) and still let anyone recompute H.

A checkpoint also carries a 64-bit digest of each event it covers (`digests`), so that a verifier
can say exactly which event was changed, removed, inserted or moved, not only that H differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

ZERO_HASH = "0" * 64
AUDIT_STREAM = "DUCHA_AUDIT"
AUDIT_PREFIX = "ducha.audit"
CHECKPOINT_SUBJECT = f"{AUDIT_PREFIX}.checkpoint"
DIGEST_HEX = 16  # hex characters of an event digest in a checkpoint (64 bits)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leaf(subject: str, body: bytes) -> tuple[str, str]:
    return sha256_hex(subject.encode()), sha256_hex(body)


def chain_step(previous: str, sequence: int, subject_hash: str, body_hash: str) -> str:
    return sha256_hex(f"{previous}\n{sequence}\n{subject_hash}\n{body_hash}".encode())


def digest(subject_hash: str, body_hash: str) -> str:
    """The short per-event digest a checkpoint records (position-independent)."""
    return sha256_hex(f"{subject_hash}\n{body_hash}".encode())[:DIGEST_HEX]


@dataclass(frozen=True)
class Checkpoint:
    """The rolling hash of the log up to `up_to_sequence`, as recorded in DUCHA_AUDIT."""

    up_to_sequence: int
    events: int  # events covered by this checkpoint (after the previous one)
    chain_hash: str
    previous_chain_hash: str
    recorded_at: str
    stream: str = "DUCHA_EVENTS"
    digests: str = ""  # DIGEST_HEX hex characters per covered event, in log order
    audit_sequence: int = field(default=0, compare=False)  # position in DUCHA_AUDIT (not stored)

    @property
    def first_sequence(self) -> int:
        return self.up_to_sequence - self.events + 1

    def digest_list(self) -> list[str]:
        d = self.digests
        return [d[i : i + DIGEST_HEX] for i in range(0, len(d), DIGEST_HEX)]

    def to_json(self) -> bytes:
        body = asdict(self)
        body.pop("audit_sequence")
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any], audit_sequence: int = 0) -> Checkpoint:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "audit_sequence"}
        return cls(**known, audit_sequence=int(data.get("audit_sequence", audit_sequence)))

    @classmethod
    def from_json(cls, raw: bytes, audit_sequence: int = 0) -> Checkpoint:
        return cls.from_dict(json.loads(raw), audit_sequence)


class RollingHash:
    """Folds events into H(n) and collects their digests."""

    def __init__(self, start: str = ZERO_HASH) -> None:
        self.value = start
        self.digests: list[str] = []

    def add(self, sequence: int, subject_hash: str, body_hash: str) -> str:
        self.value = chain_step(self.value, sequence, subject_hash, body_hash)
        self.digests.append(digest(subject_hash, body_hash))
        return self.value
