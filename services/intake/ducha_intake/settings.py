"""Settings of the intake service: `DUCHA_INTAKE_<NAME>` (the only place in intake that reads the
environment; the kernel's own settings are `ducha.kernel.config`)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_INTAKE_", extra="ignore")

    holidays: str = Field(default="", description="public holidays skipped by working-day deadlines, "
                          "comma-separated ISO dates, e.g. 2026-10-01,2026-10-02")

    @property
    def holiday_dates(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d.strip()) for d in self.holidays.split(",") if d.strip())


@lru_cache(maxsize=1)
def intake_settings() -> IntakeSettings:
    """Read once, on first use (never at import)."""
    return IntakeSettings()
