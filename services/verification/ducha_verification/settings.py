"""Settings of the verification service beyond the kernel's: the only place reading the environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class VerificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_VERIFICATION_", extra="ignore")

    revisit_after_days: int = Field(
        default=30, ge=1, le=365,
        description="days from write-off to the revisit when the round does not say (DUCHA_VERIFICATION_REVISIT_AFTER_DAYS)")
