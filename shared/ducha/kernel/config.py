"""Configuration from environment variables, validated when a service starts (never at import).

Generic settings are `DUCHA_<NAME>`; a service may override some with `DUCHA_<SERVICE>_<NAME>`
(e.g. `DUCHA_INTAKE_PORT`, `DUCHA_INTAKE_DATABASE_URL`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .clock import Clock, OffsetClock, SystemClock, parse_offset
from .db import sqlite_url
from .limits import DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_UPLOAD_BYTES


class ConfigError(SystemExit):
    """Raised with one line per wrong setting; exits the process with that message."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_", extra="ignore")

    service: str = Field(default="service", description="service name (set by the service)")
    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    data_dir: Path = Path("data")
    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset = SQLite file <data_dir>/<service>.db"
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema; default: the service name"
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="issuer public key (PEM); unset = <data_dir>/keys (local run)"
    )
    stream_replicas: int = Field(default=1, ge=1, le=5)
    read_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    ready_max_lag: int = Field(
        default=100, ge=0, description="readiness: at most this many events not yet applied"
    )
    shutdown_grace_seconds: float = Field(
        default=10.0, ge=0, le=300,
        description="on stop: how long requests in flight may take before they are answered 503",
    )
    production: bool = Field(
        default=False, description="a production deployment: development-only settings and local-trial "
        "defaults (generated keys, SQLite, an open /metrics) are refused"
    )
    dev_clock_offset: str | None = Field(
        default=None,
        description="development only: run the service clock ahead (or behind), e.g. +7d, -2h, 1d12h",
    )
    max_json_bytes: int = Field(
        default=DEFAULT_MAX_JSON_BYTES, ge=1024, description="largest JSON/form request body; larger = 413"
    )
    max_upload_bytes: int = Field(
        default=DEFAULT_MAX_UPLOAD_BYTES, ge=1024, description="largest multipart upload; larger = 413"
    )
    metrics_token: str | None = Field(
        default=None, description="when set, GET /metrics needs `Authorization: Bearer <token>`"
    )
    log_level: str = Field(default="INFO", pattern="^(?i)(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="text", pattern="^(json|text)$")
    uvicorn_log_level: str = Field(default="warning", pattern="^(?i)(trace|debug|info|warning|error|critical)$",
                                   description="uvicorn's own log (access lines at info)")

    @field_validator("nats_url")
    @classmethod
    def _nats_scheme(cls, value: str) -> str:
        for url in value.split(","):
            if not url.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
                raise ValueError(
                    "each comma-separated URL must start with nats://, tls://, ws:// or wss://"
                )
        return value

    @field_validator("dev_clock_offset")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value:
            parse_offset(value)
        return value or None

    @model_validator(mode="after")
    def _no_dev_settings_in_production(self) -> ServiceSettings:
        if self.production and self.dev_clock_offset:
            raise ValueError(
                "DUCHA_DEV_CLOCK_OFFSET is for development only and refused when DUCHA_PRODUCTION is set"
            )
        return self

    def clock(self) -> Clock:
        """The service clock: the system's, moved by the development offset if one is set."""
        if self.dev_clock_offset:
            return OffsetClock(parse_offset(self.dev_clock_offset))
        return SystemClock()

    @property
    def nats_servers(self) -> list[str]:
        """A cluster is given as a comma-separated list of its nodes' URLs."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value or None

    def production_problems(self) -> list[str]:
        """With DUCHA_PRODUCTION=true nothing may fall back to a local-trial default."""
        if not self.production:
            return []
        problems = []
        if self.jwt_public_key_file is None:
            problems.append("DUCHA_JWT_PUBLIC_KEY_FILE is required in production (no locally generated keys)")
        if not (self.database_url or "").startswith("postgresql"):
            problems.append("DUCHA_DATABASE_URL must be a postgresql:// URL in production")
        if not self.metrics_token or len(self.metrics_token) < 16:
            problems.append("DUCHA_METRICS_TOKEN (at least 16 characters) is required in production")
        return problems

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    def resolved_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir / f"{self.service}.db")

    def resolved_schema(self) -> str | None:
        if self.resolved_database_url().startswith("sqlite"):
            return None
        return self.database_schema or self.service

    @classmethod
    def for_service(cls, service: str, default_port: int, **overrides: object) -> ServiceSettings:
        prefix = f"DUCHA_{service.upper()}_"
        values: dict[str, object] = {"service": service, "port": default_port}
        for name in cls.model_fields:
            raw = os.environ.get(prefix + name.upper())
            if raw is not None:
                values[name] = raw
        values.update(overrides)  # init values win over the generic DUCHA_* environment
        try:
            settings = cls(**values)  # type: ignore[arg-type]
        except ValidationError as exc:
            lines = [f"invalid configuration for {service}:"]
            for err in exc.errors():
                name = ".".join(str(p) for p in err["loc"])
                if not name:  # a rule across settings names them in its message
                    lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
                    continue
                lines.append(f"  DUCHA_{name.upper()} (or {prefix}{name.upper()}): {err['msg']}")
            raise ConfigError("\n".join(lines)) from None
        problems = settings.production_problems()
        if problems:
            raise ConfigError("\n".join([f"invalid configuration for {service}:", *(f"  {p}" for p in problems)]))
        return settings
