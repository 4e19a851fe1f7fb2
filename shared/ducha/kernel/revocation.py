"""Revoked tokens: a JetStream key-value bucket of token ids (`jti`) that every service watches.

Signing out of the workbench puts the session token's id in the bucket; every service learns it
within milliseconds (a KV watch) and refuses the token from then on, though it has not expired.
Entries expire with the bucket's TTL, after the longest token could have expired anyway.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from .identity import MAX_TOKEN_TTL

log = logging.getLogger("ducha.revocation")

REVOKED_BUCKET = "DUCHA_REVOKED"


class RevocationList:
    def __init__(self) -> None:
        self._revoked: set[str] = set()
        self.ready = asyncio.Event()

    def is_revoked(self, token_id: str) -> bool:
        return token_id in self._revoked

    def add(self, token_id: str) -> None:
        self._revoked.add(token_id)


async def revoked_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    try:
        return await js.key_value(REVOKED_BUCKET)
    except BucketNotFoundError:
        ttl = MAX_TOKEN_TTL.total_seconds() + 3600
        return await js.create_key_value(KeyValueConfig(
            bucket=REVOKED_BUCKET, history=1, ttl=ttl, replicas=replicas,
            description="ids of bearer tokens revoked before they expire (sign-out)"))


async def follow(kv: KeyValue, revocations: RevocationList) -> None:
    """Keep `revocations` current until cancelled (the watch replays what is in the bucket first)."""
    watcher = await kv.watchall()
    try:
        async for entry in watcher:
            if entry is None:
                revocations.ready.set()  # everything revoked so far is known
            elif entry.operation is None:
                revocations.add(entry.key)
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]


async def revoke(js: JetStreamContext, token_id: str, expires_at: datetime | None = None,
                 replicas: int = 1) -> None:
    kv = await revoked_bucket(js, replicas)
    await kv.put(token_id, (expires_at or datetime.now(UTC)).isoformat().encode())
