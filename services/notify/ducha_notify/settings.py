"""Settings of the notify service: `DUCHA_NOTIFY_<NAME>` environment variables, read when the
service starts (never at import). Tests pass a `NotifySettings(...)` to `spec()` instead. The only
module of notify that reads the environment."""

from __future__ import annotations

import secrets
from pathlib import Path

from ducha.kernel.config import ConfigError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_NOTIFY_", extra="ignore")

    # webhooks
    webhook_key: str | None = Field(default=None, min_length=32,
                                    description="derives each subscription's signing secret and the key that encrypts "
                                                "URL secrets in the log; unset = key file (development only)")
    webhook_allow: str = Field(default="", description="CIDRs, addresses and host names that may be called although "
                                                       "internal (comma-separated), e.g. a government intranet's receivers")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    webhook_backoff_seconds: float = Field(default=1.0, gt=0, description="first retry delay; doubles each time")
    webhook_backoff_max_seconds: float = Field(default=600.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0, description="how often an idle worker looks for new events")
    # department stream
    dept_consumers: int = Field(default=2, ge=1, le=5, description="durable DUCHA_DEPT consumers per department")
    # high availability: who sends what, among the instances
    lease_seconds: float = Field(default=6.0, ge=1, le=120,
                                 description="a dead instance's work is taken over after at most ~4/3 of this")
    # e-mail
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset = no e-mail: each mail is recorded once as failed "
                                  "(not configured) and never retried")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "ducha@localhost"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    send_max_attempts: int = Field(default=5, ge=1, le=50)
    send_backoff_seconds: float = Field(default=30.0, gt=0)
    # reminders
    escalate_after_hours: float = Field(default=72.0, gt=0, description="missed this long: escalate to office and cadre")
    scan_interval_seconds: float = Field(default=60.0, gt=0)
    digest_hour: int = Field(default=8, ge=0, le=23, description="local hour the daily digest goes out")
    # bulletins
    issuer_name: str = "市常态化大督查领导小组办公室"
    poor_rate_percent: int = Field(default=50, ge=0, le=100, description="below this rectification rate a unit is named")


class NatsAuthSettings(BaseSettings):
    """Defaults of `python -m ducha_notify.natsauth` from the environment (flags override them)."""

    model_config = SettingsConfigDict(env_prefix="DUCHA_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4322"
    nats_service_password: str | None = None
    notify_dept_consumers: int = Field(default=2, ge=1, le=5)


class MissingWebhookKey(ConfigError):
    """Production without DUCHA_NOTIFY_WEBHOOK_KEY: every replica would sign with its own key."""


def webhook_key(settings: NotifySettings, data_dir: Path, production: bool = False) -> bytes:
    """The configured key, else (development only) one kept in <data_dir>/notify-webhook.key."""
    if settings.webhook_key:
        return settings.webhook_key.encode()
    if production:
        raise MissingWebhookKey(
            "invalid configuration for notify: DUCHA_NOTIFY_WEBHOOK_KEY is required when DUCHA_PRODUCTION "
            "is set (at least 32 characters, the same for every instance: `openssl rand -hex 32`)")
    path = data_dir / "notify-webhook.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
