"""Settings of the test suite (the only place it reads the environment): which database the
services' projections use in tests."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TestSettings(BaseSettings):
    __test__ = False  # not a test class, whatever pytest's name rules say
    model_config = SettingsConfigDict(env_prefix="DUCHA_TEST_", extra="ignore")

    db: str = "sqlite"  # DUCHA_TEST_DB: sqlite or postgres
    database_url: str | None = None  # DUCHA_TEST_DATABASE_URL: PostgreSQL to use (else a container)
