"""Secret parts of receiver URLs (robot keys, access tokens, passwords) never enter the log in
clear: the log keeps the URL redacted, plus the whole URL encrypted (Fernet: AES-128-CBC with
HMAC-SHA256) with a key derived from DUCHA_NOTIFY_WEBHOOK_KEY. Only the sending worker opens it.
Pure functions; the key is passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken

MASK = "***"
# A path segment that looks like a token (Feishu/Slack-style hook URLs carry it in the path).
_TOKEN_SEGMENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")


class SealBroken(Exception):
    """The sealed URL cannot be opened (the webhook key changed)."""


def redact(url: str) -> str:
    """The URL as shown and stored: user info, every query value and token-like path segments
    masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{MASK}@" if parts.username or parts.password else "") + host
    if parts.port is not None:
        netloc += f":{parts.port}"
    path = "/".join(MASK if _TOKEN_SEGMENT.match(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(f"{quote(k, safe='')}={MASK}" for k, _v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def has_secret(url: str) -> bool:
    return redact(url) != url


def _fernet(key: bytes) -> Fernet:
    derived = hmac.new(key, b"ducha-notify:url-seal:v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(key: bytes, url: str) -> str:
    return _fernet(key).encrypt(url.encode()).decode("ascii")


def open_sealed(key: bytes, token: str) -> str:
    try:
        return _fernet(key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SealBroken("the sealed URL cannot be opened with this webhook key") from exc


def subscription_secret(key: bytes, subscription_id: str) -> str:
    return hmac.new(key, f"webhook:{subscription_id}".encode(), hashlib.sha256).hexdigest()
