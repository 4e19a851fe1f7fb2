"""Settings of the audit service and the audit tools: `DUCHA_AUDIT_<NAME>` (the only place in the
audit package that reads the environment)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CHECKPOINT_SECONDS = 60.0
DEFAULT_VERIFY_SECONDS = 86_400.0  # nightly
# Slots of the scheduled verification start at 03:00 in the city (UTC+8) when it runs daily.
DEFAULT_VERIFY_PHASE_SECONDS = 19 * 3600.0


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_AUDIT_", extra="ignore", populate_by_name=True)

    key: str | None = Field(default=None, description="the office's audit key, 64 hex characters; unset = "
                            "<data_dir>/keys/audit.key, created on first use (a local trial)")
    data_dir: Path = Field(default=Path("data"),
                           validation_alias=AliasChoices("DUCHA_AUDIT_DATA_DIR", "DUCHA_DATA_DIR"))
    checkpoint_seconds: float = Field(default=DEFAULT_CHECKPOINT_SECONDS, gt=0,
                                      description="how often checkpoints of the log are recorded")
    verify_seconds: float = Field(default=DEFAULT_VERIFY_SECONDS, gt=0,
                                  description="how often the whole log is verified (scheduled run)")
    verify_phase_seconds: float = Field(default=DEFAULT_VERIFY_PHASE_SECONDS, ge=0,
                                        description="where the scheduled runs fall in their period "
                                        "(seconds after the period's start, counted from 1970 UTC)")

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"


def audit_settings() -> AuditSettings:
    """Read now (never at import)."""
    return AuditSettings()
