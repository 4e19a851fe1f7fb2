"""Who may sign in, and how: demo accounts in the local set-up (a token minted by the local issuer
key), or the city's single sign-on (OIDC authorization-code flow) by configuration.

In both cases the result is a Ducha bearer token (Ed25519 JWT) kept in the signed, HttpOnly session
cookie; the services verify it with the issuer's public key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from ducha.contracts.base import Actor, Role
from ducha.kernel.identity import TokenIssuer, ensure_local_keys

from .city import AUDITOR_ACCOUNT, DemoAccount, static_accounts
from .services import ApiError, Services
from .settings import WebSettings

log = logging.getLogger("ducha.web.auth")


class TokenMinter:
    """Signs Ducha tokens with the issuer's private key (local: <data_dir>/keys, created on first use)."""

    def __init__(self, settings: WebSettings) -> None:
        if settings.issuer_key_file:
            private_pem = settings.issuer_key_file.read_bytes()
        else:
            private_pem = ensure_local_keys(settings.key_dir).private_pem
        self._issuer = TokenIssuer(private_pem)
        self.ttl = timedelta(hours=settings.session_hours)

    def mint(self, actor: Actor) -> str:
        return self._issuer.issue(actor, ttl=self.ttl)


WEB_ACTOR = Actor(id="ducha-web", name="督查工作台", role=Role.OFFICE)


class AccountDirectory:
    """Demo accounts: the people registered in intake's directory (with their team for team
    members), falling back to the demo city's static list. Cached briefly."""

    def __init__(self, services: Services, minter: TokenMinter) -> None:
        self.services = services
        self.minter = minter
        self._cache: tuple[float, list[DemoAccount]] | None = None

    def invalidate(self) -> None:
        self._cache = None

    async def accounts(self) -> list[DemoAccount]:
        now = time.monotonic()
        if self._cache and now - self._cache[0] < 30:
            return self._cache[1]
        try:
            accounts = await self._from_directory()
        except ApiError as exc:
            log.info("directory not available for sign-in (%s); using the static demo accounts", exc)
            accounts = []
        if not accounts:
            return with_auditor(static_accounts())
        accounts = with_auditor(accounts)
        self._cache = (now, accounts)
        return accounts

    async def find(self, key: str) -> DemoAccount | None:
        for acc in await self.accounts():
            if acc.key == key:
                return acc
        return None

    async def _from_directory(self) -> list[DemoAccount]:
        from . import backend  # late: backend imports this module's WEB_ACTOR

        token = self.minter.mint(WEB_ACTOR)
        persons = await backend.all_items(self.services, "intake", "/v1/persons", token)
        if not persons:
            return []
        orgs: dict[str, str] = {}
        for u in await backend.all_items(self.services, "intake", "/v1/units", token):
            orgs[u["id"]] = u.get("name", u["id"])
        for h in await backend.all_items(self.services, "intake", "/v1/helpers", token):
            orgs[h["id"]] = h.get("name", h["id"])
        teams = await backend.all_items(self.services, "intake", "/v1/teams", token)
        # newest round's teams win for a person in several teams
        membership: dict[str, tuple[str, str, bool]] = {}
        for t in teams:
            membership[t["leader_id"]] = (t["id"], t.get("name", ""), True)
            for m in t.get("member_ids") or []:
                membership.setdefault(m, (t["id"], t.get("name", ""), False))
        out = []
        for p in persons:
            role = p.get("role")
            title = p.get("title", "")
            if role == "team":
                if p["id"] not in membership:
                    continue
                team_id, team_name, leader = membership[p["id"]]
                out.append(DemoAccount(id=p["id"], name=p["name"], role=role, title=title,
                                       team_id=team_id, team_leader=leader, org_name=team_name))
            elif role in ("unit", "helper"):
                if not p.get("org_id"):
                    continue
                out.append(DemoAccount(id=p["id"], name=p["name"], role=role, title=title,
                                       unit_id=p["org_id"], org_name=orgs.get(p["org_id"], p["org_id"])))
            elif role in ("office", "cadre"):
                out.append(DemoAccount(id=p["id"], name=p["name"], role=role, title=title,
                                       org_name="领导小组办公室" if role == "office" else "干部监督管理部门"))
        return out


def with_auditor(accounts: list[DemoAccount]) -> list[DemoAccount]:
    """The auditor (审计核查, issue 20) is not a person of the services' directory: always offered."""
    if any(a.role == "auditor" for a in accounts):
        return accounts
    pid, name, role, org = AUDITOR_ACCOUNT
    return [*accounts, DemoAccount(id=pid, name=name, role=role, title="审计核查", org_name=org)]


def actor_of(account: DemoAccount) -> Actor:
    return Actor(id=account.id, name=account.name, role=Role(account.role), unit_id=account.unit_id,
                 team_id=account.team_id, team_leader=account.team_leader)


# ------------------------------------------------------------------------------------ OIDC
ASYMMETRIC_KEY_TYPES = ("RSA", "EC", "OKP")


def signing_key(jwks: dict[str, Any], header: dict[str, Any]) -> jwt.PyJWK:
    """The SSO's key that signed a token: the one its `kid` names (or the only one), asymmetric."""
    keys = [k for k in jwks.get("keys", []) if k.get("use", "sig") == "sig"]
    kid = header.get("kid")
    matching = [k for k in keys if k.get("kid") == kid] if kid else keys[:1] if len(keys) == 1 else []
    if not matching:
        raise ValueError(f"no signing key {kid!r} in the SSO's key set")
    if matching[0].get("kty") not in ASYMMETRIC_KEY_TYPES:
        raise ValueError("the SSO's signing key is not an asymmetric key")
    return jwt.PyJWK(matching[0])


class Oidc:
    """OpenID Connect authorization-code flow with PKCE against the city's SSO.

    The SSO proves who the person is; their Ducha role and scope come from claims configured by
    DUCHA_WEB_OIDC_*_CLAIM (the SSO maps its groups to them). The workbench then mints a Ducha token
    with the issuer key (DUCHA_WEB_ISSUER_KEY_FILE), so the services keep verifying one kind of token.
    """

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient) -> None:
        self.s = settings
        self.http = http
        self._meta: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            url = str(self.s.oidc_issuer).rstrip("/") + "/.well-known/openid-configuration"
            resp = await self.http.get(url)
            resp.raise_for_status()
            self._meta = resp.json()
        return self._meta

    async def start(self) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the flow state to keep in a signed cookie."""
        meta = await self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({
            "response_type": "code", "client_id": self.s.oidc_client_id, "redirect_uri": self.s.oidc_redirect_uri,
            "scope": self.s.oidc_scopes, "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        return f"{meta['authorization_endpoint']}?{query}", {"state": state, "nonce": nonce, "verifier": verifier}

    async def finish(self, code: str, state: str, flow: dict[str, Any]) -> Actor:
        if not secrets.compare_digest(state, flow.get("state", "")):
            raise ValueError("state mismatch")
        meta = await self.metadata()
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.s.oidc_redirect_uri,
                "client_id": self.s.oidc_client_id, "code_verifier": flow["verifier"]}
        auth = (self.s.oidc_client_id, self.s.oidc_client_secret) if self.s.oidc_client_secret else None
        resp = await self.http.post(meta["token_endpoint"], data=data, auth=auth)  # type: ignore[arg-type]
        resp.raise_for_status()
        id_token = resp.json()["id_token"]
        jwks = (await self.http.get(meta["jwks_uri"])).json()
        key = signing_key(jwks, jwt.get_unverified_header(id_token))
        # The algorithm is the key's, never the token header's: a header saying HS256 or none cannot
        # turn the SSO's public key into a shared secret or switch the check off.
        claims = jwt.decode(id_token, key.key, algorithms=[key.algorithm_name],
                            audience=self.s.oidc_client_id, issuer=meta.get("issuer", self.s.oidc_issuer))
        if claims.get("nonce") != flow.get("nonce"):
            raise ValueError("nonce mismatch")
        return self.actor_from_claims(claims)

    def actor_from_claims(self, claims: dict[str, Any]) -> Actor:
        role = claims.get(self.s.oidc_role_claim)
        if isinstance(role, list):
            role = role[0] if role else None
        if role not in {r.value for r in Role} or role in ("system", "public"):
            raise PermissionError(f"the SSO account has no Ducha role (claim {self.s.oidc_role_claim!r})")
        return Actor(
            id=str(claims["sub"])[:128], name=str(claims.get(self.s.oidc_name_claim, ""))[:128], role=Role(role),
            unit_id=claims.get(self.s.oidc_unit_claim), team_id=claims.get(self.s.oidc_team_claim),
            team_leader=bool(claims.get(self.s.oidc_leader_claim, False)),
        )
