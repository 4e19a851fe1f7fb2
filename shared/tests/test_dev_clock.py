"""The development clock offset (`DUCHA_DEV_CLOCK_OFFSET`): how it is written, and production
refuses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ducha.kernel.clock import ManualClock, OffsetClock, SystemClock, parse_offset
from ducha.kernel.config import ConfigError, ServiceSettings


@pytest.mark.parametrize(
    ("text", "delta"),
    [("+7d", timedelta(days=7)), ("-2h", timedelta(hours=-2)), ("1d12h", timedelta(days=1, hours=12)),
     ("90m", timedelta(minutes=90))],
)
def test_offsets_are_days_hours_minutes(text: str, delta: timedelta) -> None:
    assert parse_offset(text) == delta


def test_an_offset_clock_runs_that_far_from_its_base() -> None:
    base = ManualClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    assert OffsetClock(timedelta(days=7), base).now() == datetime(2026, 3, 8, 9, tzinfo=UTC)


def test_a_service_uses_the_offset_clock_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUCHA_DEV_CLOCK_OFFSET", raising=False)
    assert isinstance(ServiceSettings.for_service("rectification", 8102).clock(), SystemClock)
    monkeypatch.setenv("DUCHA_DEV_CLOCK_OFFSET", "+7d")
    clock = ServiceSettings.for_service("rectification", 8102).clock()
    assert isinstance(clock, OffsetClock) and clock.offset == timedelta(days=7)


def test_production_refuses_the_development_clock_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_PRODUCTION", "true")
    monkeypatch.setenv("DUCHA_DEV_CLOCK_OFFSET", "+7d")
    with pytest.raises(ConfigError) as refused:
        ServiceSettings.for_service("rectification", 8102)
    assert "DUCHA_DEV_CLOCK_OFFSET is for development only" in str(refused.value)
    monkeypatch.delenv("DUCHA_DEV_CLOCK_OFFSET")
    assert ServiceSettings.for_service(  # production also needs its secrets (docs/security.md)
        "rectification", 8102, jwt_public_key_file="/run/secrets/k", metrics_token="t" * 16,
        database_url="postgresql+psycopg://u@db/ducha").production


def test_a_malformed_offset_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_DEV_CLOCK_OFFSET", "next week")
    with pytest.raises(ConfigError, match="DUCHA_DEV_CLOCK_OFFSET"):
        ServiceSettings.for_service("rectification", 8102)
