"""The command line's settings: every environment variable `ducha` itself reads, read here and
nowhere else in the CLI (each service reads its own through its settings class)."""

from __future__ import annotations

import os

from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_", extra="ignore")

    # kept as text: `clisupport.nats_port` answers a bad value with one line naming the fix
    nats_port: str | None = None
    nats_url: str | None = None
    data_dir: str | None = None
    dev_clock_offset: str | None = None


def cli_settings() -> CliSettings:
    return CliSettings()


def service_port(service: str, default: int) -> int:
    """`DUCHA_<SERVICE>_PORT`: where `ducha run` starts a service."""
    return int(os.environ.get(f"DUCHA_{service.upper()}_PORT", default))


def service_nats_url_set(service: str) -> bool:
    """Whether `DUCHA_<SERVICE>_NATS_URL` points the service at its own NATS."""
    return bool(os.environ.get(f"DUCHA_{service.upper()}_NATS_URL"))


def child_environment() -> dict[str, str]:
    """The environment `ducha run` hands to the processes it starts (theirs to read)."""
    return dict(os.environ)
