"""The OIDC sign-in flow against a fake single sign-on (discovery, authorization redirect with
PKCE, code exchange, ID token verified with the SSO's JWKS, claims → Ducha actor → Ducha token)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from ducha.kernel.identity import TokenVerifier, ensure_local_keys
from ducha_web.app import create_web_app
from ducha_web.session import COOKIE
from ducha_web.settings import load_settings
from fastapi.testclient import TestClient

SSO = "https://sso.example.gov.cn/realms/city"


class FakeSSO:
    def __init__(self, claims: dict[str, Any]) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.claims = claims
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanged: list[dict[str, str]] = []

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict[str, str]) -> str:
        """What the SSO does after the person logs in: redirect back with a code."""
        code = f"code-{len(self.codes)}"
        self.codes[code] = query
        return f"{query['redirect_uri']}?code={code}&state={query['state']}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={
                "issuer": SSO, "authorization_endpoint": f"{SSO}/protocol/openid-connect/auth",
                "token_endpoint": f"{SSO}/protocol/openid-connect/token",
                "jwks_uri": f"{SSO}/protocol/openid-connect/certs"})
        if path.endswith("/certs"):
            return httpx.Response(200, json=self.jwks())
        if path.endswith("/token"):
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.exchanged.append(form)
            asked = self.codes.pop(form.get("code", ""), None)
            if asked is None:
                return httpx.Response(400, json={"error": "invalid_grant"})
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()
                                                 ).rstrip(b"=").decode()
            if challenge != asked["code_challenge"]:
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "PKCE"})
            now = int(time.time())
            id_token = jwt.encode({"iss": SSO, "aud": asked["client_id"], "sub": "sso-user-42", "iat": now,
                                   "exp": now + 300, "nonce": asked["nonce"], **self.claims},
                                  self.key, algorithm="RS256", headers={"kid": "k1"})
            return httpx.Response(200, json={"id_token": id_token, "access_token": "x", "token_type": "Bearer"})
        return httpx.Response(200, json={"items": [], "total": 0})


def _client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sso: FakeSSO) -> Iterator[TestClient]:
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DUCHA_WEB_AUTH", "oidc")
    monkeypatch.setenv("DUCHA_WEB_OIDC_ISSUER", SSO)
    monkeypatch.setenv("DUCHA_WEB_OIDC_CLIENT_ID", "ducha-web")
    monkeypatch.setenv("DUCHA_WEB_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("DUCHA_WEB_OIDC_REDIRECT_URI", "http://testserver/auth/callback")
    app = create_web_app(load_settings(), transport=httpx.MockTransport(sso))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def sso() -> FakeSSO:
    return FakeSSO({"name": "马强", "ducha_role": "unit", "ducha_unit": "D01"})


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sso: FakeSSO) -> Iterator[TestClient]:
    yield from _client(monkeypatch, tmp_path, sso)


def test_sign_in_through_the_sso(client: TestClient, sso: FakeSSO, tmp_path: Path) -> None:
    page = client.get("/login")
    assert "统一身份认证登录" in page.text and "data-account" not in page.text
    start = client.get("/auth/oidc/start?next=/ledger", follow_redirects=False)
    assert start.status_code == 303
    target = urlparse(start.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.path.endswith("/auth") and query["client_id"] == "ducha-web"
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    back = urlparse(sso.authorize(query))
    resp = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/ledger", resp.text
    assert sso.exchanged[-1]["grant_type"] == "authorization_code"
    codec = client.app.state.web.codec  # type: ignore[attr-defined]
    session = codec.loads(client.cookies.get(COOKIE))
    assert session.actor.role.value == "unit" and session.actor.unit_id == "D01" and session.actor.name == "马强"
    actor = TokenVerifier(ensure_local_keys(tmp_path / "keys").public_pem).verify(session.token)
    assert actor.id == "sso-user-42"


def test_a_replayed_or_forged_callback_is_refused(client: TestClient, sso: FakeSSO) -> None:
    start = client.get("/auth/oidc/start", follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
    back = urlparse(sso.authorize(query))
    forged = client.get(f"{back.path}?code=code-0&state=not-the-state", follow_redirects=False)
    assert forged.headers["location"].startswith("/login?error=")
    assert COOKIE not in client.cookies
    client.cookies.clear()
    no_flow = client.get(f"{back.path}?{back.query}", follow_redirects=False)  # flow cookie gone
    assert no_flow.headers["location"].startswith("/login?error=")


def test_an_sso_account_without_a_ducha_role_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sso = FakeSSO({"name": "路人"})
    for client in _client(monkeypatch, tmp_path, sso):
        start = client.get("/auth/oidc/start", follow_redirects=False)
        query = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
        back = urlparse(sso.authorize(query))
        resp = client.get(f"{back.path}?{back.query}", follow_redirects=False)
        assert "未分配督查系统角色" in httpx.URL(resp.headers["location"]).params["error"]


class ForgingSSO(FakeSSO):
    """Signs the id_token with an algorithm of the attacker's choosing (its header says so)."""

    def __init__(self, claims: dict[str, Any], alg: str, kid: str = "k1") -> None:
        super().__init__(claims)
        self.alg, self.kid = alg, kid

    def __call__(self, request: httpx.Request) -> httpx.Response:
        resp = super().__call__(request)
        if request.url.path.endswith("/token") and resp.status_code == 200:
            claims = jwt.decode(resp.json()["id_token"], options={"verify_signature": False})
            if self.alg == "RS256":
                forged = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
            else:
                secret = None if self.alg == "none" else "k" * 32
                forged = jwt.encode(claims, secret, algorithm=self.alg, headers={"kid": self.kid})  # type: ignore[arg-type]
            return httpx.Response(200, json={"id_token": forged, "access_token": "x", "token_type": "Bearer"})
        return resp


@pytest.mark.parametrize("alg,kid", [("HS256", "k1"), ("none", "k1"), ("RS256", "other-key")])
def test_the_id_token_algorithm_is_the_sso_keys_not_the_tokens(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, alg: str, kid: str) -> None:
    sso = ForgingSSO({"name": "马强", "ducha_role": "office"}, alg, kid)
    for client in _client(monkeypatch, tmp_path, sso):
        start = client.get("/auth/oidc/start", follow_redirects=False)
        query = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
        back = urlparse(sso.authorize(query))
        resp = client.get(f"{back.path}?{back.query}", follow_redirects=False)
        assert resp.headers["location"].startswith("/login?error=")
        assert COOKIE not in client.cookies
