"""Every registered service starts on real NATS and a real database, answers health and readiness,
and authenticates its callers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ducha.cli import service_specs
from ducha.contracts import Actor, Role
from ducha.kernel.identity import KeyPair, TokenIssuer, generate_keys
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service

UNIT = Actor(id="u-1", name="城关区政府", role=Role.UNIT, unit_id="U001")


def test_the_four_domain_services_are_registered_in_event_flow_order() -> None:
    assert list(service_specs())[:4] == ["intake", "rectification", "verification", "notify"]


@pytest.mark.parametrize("name", ["intake", "rectification", "verification", "notify"])
async def test_service_answers_health_ready_and_me(
    name: str, nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    spec = service_specs()[name]
    async with run_service(spec, nats_server.url, tmp_path, keys) as svc:
        assert (await svc.client.get("/health")).json() == {"status": "ok", "service": name}
        ready = await svc.client.get("/ready")
        assert ready.status_code == 200 and ready.json()["nats_connected"]
        me = await svc.client.get("/v1/me", headers=svc.headers(UNIT))
        assert me.status_code == 200 and me.json()["unit_id"] == "U001"


async def test_missing_forged_and_expired_tokens_are_401(
    nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    spec = service_specs()["intake"]
    async with run_service(spec, nats_server.url, tmp_path, keys) as svc:
        missing = await svc.client.get("/v1/me")
        assert missing.status_code == 401 and "bearer token is required" in missing.json()["error"]["message"]
        forged = TokenIssuer(generate_keys().private_pem).issue(UNIT)
        bad = await svc.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
        expired = svc.issuer.issue(UNIT, ttl=timedelta(seconds=-5))
        old = await svc.client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
        assert old.status_code == 401 and "expired" in old.json()["error"]["message"]
        garbage = await svc.client.get("/v1/me", headers={"Authorization": "Bearer abc.def"})
        assert garbage.status_code == 401
