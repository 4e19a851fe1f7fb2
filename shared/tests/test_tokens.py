"""Access tokens: short-lived with a bounded maximum, revocable (every service honours a revocation
within seconds), and the CLI refuses an unbounded lifetime."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
import nats
import pytest
from ducha.cli import service_specs
from ducha.contracts import Actor, Role
from ducha.kernel.errors import Unauthorized
from ducha.kernel.identity import KeyPair, TokenIssuer, TokenVerifier
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.revocation import revoke
from ducha.testing.plugin import run_service

OFFICE = Actor(id="o1", name="督查办", role=Role.OFFICE)


def test_no_token_lives_longer_than_the_maximum(keys: KeyPair) -> None:
    issuer = TokenIssuer(keys.private_pem)
    with pytest.raises(ValueError):
        issuer.issue(OFFICE, ttl=timedelta(hours=13))
    claims = jwt.decode(issuer.issue(OFFICE), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 12 * 3600 and len(claims["jti"]) == 32


def test_a_remembered_token_still_expires_and_can_still_be_revoked(keys: KeyPair) -> None:
    issuer = TokenIssuer(keys.private_pem)
    token = issuer.issue(OFFICE, ttl=timedelta(minutes=5))
    now = [time.time()]
    revoked: set[str] = set()
    verifier = TokenVerifier(keys.public_pem, revoked.__contains__, clock=lambda: now[0])
    assert verifier.verify(token) == verifier.verify(token) == OFFICE  # the second from memory
    with pytest.raises(Unauthorized, match="not valid"):
        verifier.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))  # never remembered
    revoked.add(jwt.decode(token, options={"verify_signature": False})["jti"])
    with pytest.raises(Unauthorized, match="revoked"):
        verifier.verify(token)
    revoked.clear()
    now[0] += 301
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_the_cli_refuses_an_unbounded_token_lifetime(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "ducha.cli", "--data-dir", str(tmp_path), "token", "--role", "office"]
    refused = subprocess.run([*cmd, "--hours", "100"], capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "at most 12 hours" in refused.stderr
    ok = subprocess.run([*cmd, "--hours", "1"], capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0 and ok.stdout.count(".") == 2


async def test_a_revoked_token_is_refused_by_every_service_within_seconds(
        nats_server: NatsServer, tmp_path: Path, keys: KeyPair) -> None:
    specs = service_specs()
    async with run_service(specs["intake"], nats_server.url, tmp_path / "i", keys) as intake, \
            run_service(specs["verification"], nats_server.url, tmp_path / "v", keys) as verification:
        token = TokenIssuer(keys.private_pem).issue(OFFICE)
        auth = {"Authorization": f"Bearer {token}"}
        other = {"Authorization": f"Bearer {TokenIssuer(keys.private_pem).issue(OFFICE)}"}
        for svc in (intake, verification):
            assert (await svc.client.get("/v1/me", headers=auth)).status_code == 200
        nc = await nats.connect(nats_server.url)
        try:
            await revoke(nc.jetstream(), jwt.decode(token, options={"verify_signature": False})["jti"])
        finally:
            await nc.close()
        started = time.monotonic()
        for svc in (intake, verification):
            while (resp := await svc.client.get("/v1/me", headers=auth)).status_code != 401:
                assert time.monotonic() - started < 5, "the revocation did not arrive within 5 s"
                await asyncio.sleep(0.02)
            assert "revoked" in resp.json()["error"]["message"]
            assert (await svc.client.get("/v1/me", headers=other)).status_code == 200  # only that token
        # a service that starts later knows the revocation before it answers
        async with run_service(specs["rectification"], nats_server.url, tmp_path / "r", keys) as late:
            assert (await late.client.get("/v1/me", headers=auth)).status_code == 401


async def test_signing_out_of_the_workbench_revokes_its_token_everywhere(
        nats_server: NatsServer, tmp_path: Path, keys: KeyPair) -> None:
    from types import SimpleNamespace

    from ducha_web.pages.auth import revoke_session_token

    async with run_service(service_specs()["intake"], nats_server.url, tmp_path, keys) as intake:
        token = TokenIssuer(keys.private_pem).issue(OFFICE, ttl=timedelta(hours=1))
        auth = {"Authorization": f"Bearer {token}"}
        assert (await intake.client.get("/v1/me", headers=auth)).status_code == 200
        await revoke_session_token(SimpleNamespace(kernel=intake.kernel), token)  # what /logout does
        started = time.monotonic()
        while (await intake.client.get("/v1/me", headers=auth)).status_code != 401:
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.02)
