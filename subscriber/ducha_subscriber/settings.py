"""The environment variables the kit's command line reads (the only place it reads them): each is
the default of the option of the same meaning, so a service manager can configure the kit."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvDefaults:
    server: str
    mirror: str | None
    forward: str | None
    forward_secret: str | None

    @classmethod
    def from_environment(cls) -> EnvDefaults:
        return cls(
            server=os.environ.get("DUCHA_NATS_SERVER", "nats://127.0.0.1:4222"),
            mirror=os.environ.get("DUCHA_MIRROR_URL"),
            forward=os.environ.get("DUCHA_FORWARD_URL"),
            forward_secret=os.environ.get("DUCHA_FORWARD_SECRET"),
        )
