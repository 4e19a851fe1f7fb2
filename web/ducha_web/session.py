"""The session cookie: the person's bearer token and who they are, signed (itsdangerous) and
HttpOnly. Nothing is stored server-side; signing out deletes the cookie."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ducha.contracts.base import Actor
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "ducha_session"
FLOW_COOKIE = "ducha_oidc_flow"


@dataclass(frozen=True)
class Session:
    token: str
    actor: Actor
    csrf: str
    label: str = ""  # e.g. 城关区人民政府 / 第一督查督导组 (display only)

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.token, "a": self.actor.model_dump(exclude_defaults=True), "c": self.csrf,
                "l": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        return cls(token=data["t"], actor=Actor(**data["a"]), csrf=data["c"], label=data.get("l", ""))

    @classmethod
    def new(cls, token: str, actor: Actor, label: str = "") -> Session:
        return cls(token=token, actor=actor, csrf=secrets.token_urlsafe(18), label=label)


def load_secret(explicit: str | None, key_dir: Path) -> str:
    """The cookie-signing secret: configured, or a random one kept under the data folder."""
    if explicit:
        return explicit
    path = key_dir / "web-session.key"
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class SessionCodec:
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="ducha-web-session")
        self._flow = URLSafeTimedSerializer(secret, salt="ducha-web-oidc-flow")
        self.max_age = max_age_seconds

    def dumps(self, session: Session) -> str:
        return self._s.dumps(session.to_dict())

    def loads(self, raw: str | None) -> Session | None:
        if not raw:
            return None
        try:
            return Session.from_dict(self._s.loads(raw, max_age=self.max_age))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def dumps_flow(self, data: dict[str, Any]) -> str:
        return self._flow.dumps(data)

    def loads_flow(self, raw: str | None) -> dict[str, Any] | None:
        if not raw:
            return None
        try:
            data = self._flow.loads(raw, max_age=600)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None
