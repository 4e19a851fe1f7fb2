"""Settings of the rectification service: `DUCHA_RECTIFICATION_<NAME>` environment variables, read
when the app is created (never at import). Tests pass a `RectificationSettings(...)` to `spec()`."""

from __future__ import annotations

from ducha.kernel.runtime import Kernel
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

KEY = "rectification"


class RectificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_RECTIFICATION_", extra="ignore")

    warning_interval_seconds: float = Field(default=60.0, gt=0, description="how often the warning scan runs")


def settings_of(kernel: Kernel) -> RectificationSettings:
    settings = kernel.extras.get(KEY)
    return settings if isinstance(settings, RectificationSettings) else RectificationSettings()
