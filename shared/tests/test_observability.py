"""Operations: metrics, correlation ids, JSON logs, readiness and configuration errors."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest
from ducha.cli import service_specs
from ducha.contracts import Actor, Role
from ducha.contracts.intake import RoundOpened
from ducha.kernel.commands import CommandContext
from ducha.kernel.config import ConfigError, ServiceSettings
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.observability import configure_logging, correlation_id
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import run_service

OFFICE = Actor(id="o1", name="督查办", role=Role.OFFICE)


def round_opened() -> RoundOpened:
    return RoundOpened(number=2, name="第二轮常态化大督查", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 9),
                       focus_areas=("重大项目建设",))


async def test_metrics_count_commands_by_outcome_and_requests_carry_a_correlation_id(
    nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    async with run_service(service_specs()["intake"], nats_server.url, tmp_path, keys) as svc:
        ctx = CommandContext(OFFICE, "metrics-cmd-0001")
        await svc.kernel.commands.run(AggregateKey("intake", "round", "R-metrics"), ctx, lambda _l: [round_opened()])
        await svc.kernel.commands.run(AggregateKey("intake", "round", "R-metrics"), ctx, lambda _l: [round_opened()])
        text = (await svc.client.get("/metrics")).text
        assert 'ducha_commands_total{outcome="ok",service="intake"}' in text
        assert 'ducha_commands_total{outcome="replayed",service="intake"}' in text
        assert "ducha_append_seconds_bucket" in text
        resp = await svc.client.get("/health", headers={"X-Correlation-Id": "corr-abc"})
        assert resp.headers["x-correlation-id"] == "corr-abc"
        assert (await svc.client.get("/health")).headers["x-correlation-id"]


async def test_metrics_with_a_token_are_refused_without_it_and_responses_carry_security_headers(
    nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    async with run_service(service_specs()["intake"], nats_server.url, tmp_path, keys,
                           metrics_token="m" * 24) as svc:
        refused = await svc.client.get("/metrics")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert (await svc.client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        ok = await svc.client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 24})
        assert ok.status_code == 200 and "ducha_http_requests_total" in ok.text
        for resp in (ok, refused, await svc.client.get("/v1/me")):
            assert resp.headers["x-frame-options"] == "DENY"
            assert resp.headers["x-content-type-options"] == "nosniff"
            assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]


def test_json_logs_carry_service_and_correlation_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake", "INFO", "json")
    token = correlation_id.set("corr-42")
    try:
        logging.getLogger("ducha.test").info("提醒已发送")
    finally:
        correlation_id.reset(token)
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["service"] == "intake" and line["correlation_id"] == "corr-42"
    assert line["message"] == "提醒已发送" and line["level"] == "INFO"


def test_wrong_configuration_names_each_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_INTAKE_PORT", "99999")
    monkeypatch.setenv("DUCHA_NATS_URL", "http://example")
    monkeypatch.setenv("DUCHA_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as err:
        ServiceSettings.for_service("intake", 8101)
    message = str(err.value)
    assert "DUCHA_PORT (or DUCHA_INTAKE_PORT)" in message and "65535" in message
    assert "DUCHA_NATS_URL" in message and "nats://" in message
    assert "DUCHA_LOG_FORMAT" in message


def test_a_cluster_is_a_comma_separated_list_of_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUCHA_NATS_URL", "nats://n1:4222, nats://n2:4222,nats://n3:4222")
    assert ServiceSettings.for_service("intake", 8101).nats_servers == [
        "nats://n1:4222", "nats://n2:4222", "nats://n3:4222",
    ]
