"""The hashes of tamper evidence: per-event keyed commitments, the rolling chain hash over the
whole log, and the checkpoints that record it.

    c(n)     = sha256(subject) + "\n" + sha256(body)
    salt(n)  = HMAC-SHA256(K, "ducha-audit-salt\n" + c(n))                          (hex)
    leaf(n)  = HMAC-SHA256(salt(n), c(n))                                            (hex)
    H(0)     = 64 zeros
    H(n)     = sha256(H(n-1) + "\n" + str(n) + "\n" + leaf(n))

K is the office's audit key (`AuditKey`, never exported). An export carries another unit's event
as its leaf alone: a keyed commitment that cannot be recomputed from guessed content without
salt(n), so guessing ids, subjects or bodies confirms nothing. For the events it includes in full it
carries salt(n), which reveals nothing about any other event's salt (HMAC is a PRF), so the holder
recomputes every leaf and H offline and compares H with the checkpoints (and with the checkpoint
hash printed on bulletins). A changed included event would need another salt giving the same leaf
(an HMAC second preimage). The salt depends on the content, not the position, so that an event
moved or shifted by a removal keeps its digest and the verifier can name what happened.

Scheme `sha256/1` (the checkpoints recorded before keyed commitments, on the subject
`ducha.audit.checkpoint`) is the same chain with leaf(n) = sha256(subject) + "\n" + sha256(body);
its exports could be guessed at (issue 12) and are still read by the verifier.

A checkpoint also carries a 64-bit digest of each event it covers (sha256(leaf)[:16]), so that a
verifier can say exactly which event was changed, removed, inserted or moved, not only that H
differs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ZERO_HASH = "0" * 64
AUDIT_STREAM = "DUCHA_AUDIT"
AUDIT_PREFIX = "ducha.audit"
LEGACY_CHECKPOINT_SUBJECT = f"{AUDIT_PREFIX}.checkpoint"  # scheme sha256/1, no longer written
CHECKPOINT_SUBJECT = f"{AUDIT_PREFIX}.checkpoint2"  # scheme hmac-sha256/1: a chain of its own from 1
SCHEME = "hmac-sha256/1"
LEGACY_SCHEME = "sha256/1"
DIGEST_HEX = 16  # hex characters of an event digest in a checkpoint (64 bits)
KEY_FILE = "audit.key"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leaf(subject: str, body: bytes) -> tuple[str, str]:
    """The content hashes of an event: sha256(subject), sha256(body)."""
    return sha256_hex(subject.encode()), sha256_hex(body)


def legacy_leaf(subject_hash: str, body_hash: str) -> str:
    return f"{subject_hash}\n{body_hash}"


def commitment(salt: str, subject_hash: str, body_hash: str) -> str:
    return hmac.new(bytes.fromhex(salt), f"{subject_hash}\n{body_hash}".encode(), hashlib.sha256).hexdigest()


def chain_step(previous: str, sequence: int, leaf_value: str) -> str:
    return sha256_hex(f"{previous}\n{sequence}\n{leaf_value}".encode())


def digest(leaf_value: str) -> str:
    """The short per-event digest a checkpoint records (position-independent)."""
    return sha256_hex(leaf_value.encode())[:DIGEST_HEX]


class AuditKey:
    """The office's audit key K: salts every event's commitment. Kept by the office (a file in the
    key folder, or $DUCHA_AUDIT_KEY in a deployment), never written into an export."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the audit key must have at least 32 bytes (64 hex characters)")
        self._secret = secret

    @property
    def key_id(self) -> str:
        """Names the key in checkpoints and exports (reveals nothing about it)."""
        return hmac.new(self._secret, b"ducha-audit-key-id", hashlib.sha256).hexdigest()[:16]

    def salt(self, subject_hash: str, body_hash: str) -> str:
        message = f"ducha-audit-salt\n{subject_hash}\n{body_hash}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def leaf(self, subject: str, body: bytes) -> tuple[str, str]:
        """(salt, commitment) of one event."""
        hashes = leaf(subject, body)
        salt = self.salt(*hashes)
        return salt, commitment(salt, *hashes)

    @classmethod
    def load(cls, key_dir: Path, configured: str | None = None) -> AuditKey:
        """The configured key (hex; default $DUCHA_AUDIT_KEY) if set, else `<key_dir>/audit.key`,
        created on first use."""
        if configured is None:
            from .settings import audit_settings

            configured = audit_settings().key
        if configured:
            try:
                return cls(bytes.fromhex(configured.strip()))
            except ValueError as exc:
                raise ValueError(f"DUCHA_AUDIT_KEY: {exc}; give 64 hex characters") from None
        path = key_dir / KEY_FILE
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            tmp = key_dir / f".{KEY_FILE}.{os.getpid()}"
            tmp.write_text(os.urandom(32).hex() + "\n", encoding="ascii")
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # atomic: two processes starting together agree on one key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return cls(bytes.fromhex(path.read_text(encoding="ascii").strip()))

    @classmethod
    def from_environment(cls) -> AuditKey:
        from .settings import audit_settings

        settings = audit_settings()
        return cls.load(settings.key_dir, settings.key or "")


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
    scheme: str = LEGACY_SCHEME  # absent in checkpoints recorded before keyed commitments
    key_id: str = ""
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
    """Folds events' leaves into H(n) and collects their digests."""

    def __init__(self, start: str = ZERO_HASH) -> None:
        self.value = start
        self.digests: list[str] = []

    def add(self, sequence: int, leaf_value: str) -> str:
        self.value = chain_step(self.value, sequence, leaf_value)
        self.digests.append(digest(leaf_value))
        return self.value
