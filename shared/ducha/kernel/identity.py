"""Bearer tokens: Ducha's issuer signs an Ed25519 JWT naming person, role and scope; every service
verifies it with the public key and puts that actor on each command and event.

Locally the key pair is generated on first run under the data folder; in production the private
key stays with the issuer (or the city's SSO bridge) and services get only the public key.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from ..contracts.base import Actor
from .errors import Unauthorized

ISSUER = "ducha"
AUDIENCE = "ducha"
ALGORITHM = "EdDSA"
# Access tokens are short-lived: nothing signs one for longer (a signed-out token is also revoked,
# see revocation.py, but a stolen one must not live for days either).
MAX_TOKEN_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def generate_keys() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem, public_pem)


def ensure_local_keys(key_dir: Path) -> KeyPair:
    """The local issuer key pair, created on first use (private key readable by the owner only)."""
    private_path = key_dir / "issuer-ed25519.pem"
    public_path = key_dir / "issuer-ed25519.pub.pem"
    if not private_path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        pair = generate_keys()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pair.private_pem)
        public_path.write_bytes(pair.public_pem)
    return KeyPair(private_path.read_bytes(), public_path.read_bytes())


class TokenIssuer:
    def __init__(self, private_pem: bytes) -> None:
        self._key = serialization.load_pem_private_key(private_pem, password=None)

    def issue(self, actor: Actor, ttl: timedelta = MAX_TOKEN_TTL) -> str:
        if ttl > MAX_TOKEN_TTL:  # (a negative one is born expired: tests use that)
            raise ValueError(f"a token lives at most {MAX_TOKEN_TTL} (asked: {ttl})")
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": actor.id,
            "name": actor.name,
            "role": actor.role.value,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        if actor.unit_id:
            claims["unit"] = actor.unit_id
        if actor.team_id:
            claims["team"] = actor.team_id
        if actor.team_leader:
            claims["team_leader"] = True
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]


class TokenVerifier:
    """Checks a bearer token's signature and claims. A client sends the same token with every
    request for its lifetime, so a verified token is remembered (signature and claims are checked
    once; Ed25519 verification was ~5% of a service's CPU under load). Expiry and revocation are
    checked on every request, remembered or not."""

    CACHE_SIZE = 4096

    def __init__(self, public_pem: bytes, revoked: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._key = serialization.load_pem_public_key(public_pem)
        self._revoked = revoked
        self._clock = clock or time.time
        self._verified: OrderedDict[str, tuple[float, str, Actor]] = OrderedDict()

    def verify(self, token: str) -> Actor:
        remembered = self._verified.get(token)
        if remembered is None:
            remembered = self._verify(token)
            self._verified[token] = remembered
            if len(self._verified) > self.CACHE_SIZE:
                self._verified.popitem(last=False)
        exp, jti, actor = remembered
        if self._clock() >= exp:
            self._verified.pop(token, None)
            raise Unauthorized("the bearer token has expired")
        if self._revoked is not None and self._revoked(jti):
            raise Unauthorized("the bearer token has been revoked (signed out)")
        return actor

    def _verify(self, token: str) -> tuple[float, str, Actor]:
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from None
        try:
            return float(claims["exp"]), str(claims.get("jti", "")), Actor(
                id=claims["sub"],
                name=claims.get("name", ""),
                role=claims.get("role", ""),
                unit_id=claims.get("unit"),
                team_id=claims.get("team"),
                team_leader=bool(claims.get("team_leader", False)),
            )
        except ValidationError as exc:
            raise Unauthorized(f"the bearer token names no valid actor: {exc.errors()[0]['msg']}") from None
