"""Settings of the web workbench, from the environment, validated once at start: the only module
of the workbench that reads the environment.

Web-specific settings are `DUCHA_WEB_<NAME>`; the services' base URLs are `DUCHA_<SERVICE>_URL`
(default `http://<DUCHA_WEB_SERVICES_HOST or 127.0.0.1>:<DUCHA_<SERVICE>_PORT or the service's
default port>`), so `ducha run` with custom ports needs nothing more. The data folder is
`DUCHA_DATA_DIR` (default ./data); the log (demo history) is `DUCHA_NATS_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {"intake": 8101, "rectification": 8102, "verification": 8103, "notify": 8104, "audit": 8105}


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUCHA_WEB_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    data_dir: Path = Field(
        default=Path("data"), validation_alias=AliasChoices("DUCHA_WEB_DATA_DIR", "DUCHA_DATA_DIR")
    )
    title: str = "督查工作台"
    city: str = Field(default="本市", description="shown in the header, e.g. 某某市")

    # the four services (BFF targets): an explicit URL, else host and port (`ducha run`'s ports)
    intake_url: str = Field(default="", validation_alias=AliasChoices("DUCHA_WEB_INTAKE_URL",
                                                                      "DUCHA_INTAKE_URL"))
    rectification_url: str = Field(default="", validation_alias=AliasChoices(
        "DUCHA_WEB_RECTIFICATION_URL", "DUCHA_RECTIFICATION_URL"))
    verification_url: str = Field(default="", validation_alias=AliasChoices(
        "DUCHA_WEB_VERIFICATION_URL", "DUCHA_VERIFICATION_URL"))
    notify_url: str = Field(default="", validation_alias=AliasChoices("DUCHA_WEB_NOTIFY_URL",
                                                                      "DUCHA_NOTIFY_URL"))
    services_host: str = "127.0.0.1"
    intake_port: int = Field(default=SERVICE_PORTS["intake"], ge=1, le=65535,
                             validation_alias="DUCHA_INTAKE_PORT")
    rectification_port: int = Field(default=SERVICE_PORTS["rectification"], ge=1, le=65535,
                                    validation_alias="DUCHA_RECTIFICATION_PORT")
    verification_port: int = Field(default=SERVICE_PORTS["verification"], ge=1, le=65535,
                                   validation_alias="DUCHA_VERIFICATION_PORT")
    notify_port: int = Field(default=SERVICE_PORTS["notify"], ge=1, le=65535,
                             validation_alias="DUCHA_NOTIFY_PORT")
    audit_port: int = Field(default=SERVICE_PORTS["audit"], ge=1, le=65535,
                            validation_alias="DUCHA_AUDIT_PORT")
    nats_url: str | None = Field(default=None, validation_alias="DUCHA_NATS_URL",
                                 description="the log, for the demo's past weeks (`ducha run --demo`)")
    request_timeout: float = Field(default=15.0, gt=0, le=300)
    audit_url: str = Field(default="", validation_alias=AliasChoices("DUCHA_WEB_AUDIT_URL", "DUCHA_AUDIT_URL"),
                           description="the audit service (timelines, the audit pages)")

    # sign-in
    auth: Literal["demo", "oidc"] | None = Field(
        default=None, description="required: oidc = the city's single sign-on; demo = passwordless demo "
        "accounts (a local trial only: `./dev.sh up --demo` sets it)"
    )
    production: bool = Field(
        default=False, validation_alias=AliasChoices("DUCHA_WEB_PRODUCTION", "DUCHA_PRODUCTION"),
        description="refuse demo sign-in and every locally generated secret")
    session_secret: str | None = Field(
        default=None, description="signs the session cookie; unset = <data_dir>/keys/web-session.key"
    )
    session_hours: float = Field(default=12.0, gt=0, le=12, description="at most the longest token (12 h)")
    cookie_secure: bool = Field(default=False, description="set behind HTTPS")
    issuer_key_file: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) that signs tokens; unset = <data_dir>/keys"
    )
    oidc_issuer: str | None = Field(default=None, description="e.g. https://sso.example.gov.cn/realms/city")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_uri: str | None = Field(default=None, description="https://<web>/auth/callback")
    oidc_scopes: str = "openid profile"
    oidc_role_claim: str = Field(default="ducha_role", description="claim holding office/team/unit/...")
    oidc_unit_claim: str = "ducha_unit"
    oidc_team_claim: str = "ducha_team"
    oidc_leader_claim: str = "ducha_team_leader"
    oidc_name_claim: str = "name"

    # evidence files
    evidence_store: Literal["local", "s3"] = "local"
    evidence_dir: Path | None = Field(default=None, description="unset = <data_dir>/evidence")
    evidence_max_mb: int = Field(default=25, ge=1, le=1024)
    s3_endpoint: str | None = Field(default=None, description="e.g. http://minio:9000")
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_prefix: str = "evidence/"

    page_size: int = Field(default=50, ge=5, le=500)
    export_max_rows: int = Field(default=200_000, ge=100, le=1_000_000,
                                 description="rows of one Excel export (streamed: memory stays bounded)")

    @field_validator("intake_url", "rectification_url", "verification_url", "notify_url", "audit_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _default_urls(self) -> WebSettings:
        for name in SERVICE_PORTS:
            if not getattr(self, f"{name}_url"):
                setattr(self, f"{name}_url", f"http://{self.services_host}:{getattr(self, f'{name}_port')}")
        return self

    def production_problems(self) -> list[str]:
        problems = []
        if self.auth != "oidc":
            problems.append("DUCHA_WEB_AUTH must be oidc in production (no passwordless demo sign-in)")
        if not self.session_secret or len(self.session_secret) < 32:
            problems.append("DUCHA_WEB_SESSION_SECRET (at least 32 characters) is required in production")
        if self.issuer_key_file is None:
            problems.append("DUCHA_WEB_ISSUER_KEY_FILE is required in production (no locally generated keys)")
        if not self.cookie_secure:
            problems.append("DUCHA_WEB_COOKIE_SECURE must be true in production (HTTPS)")
        if self.evidence_store == "s3" and not (self.s3_access_key and self.s3_secret_key):
            problems.append("DUCHA_WEB_S3_ACCESS_KEY and DUCHA_WEB_S3_SECRET_KEY are required in production")
        return problems

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def resolved_evidence_dir(self) -> Path:
        return self.evidence_dir or (self.data_dir / "evidence")

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url,
            "rectification": self.rectification_url,
            "verification": self.verification_url,
            "notify": self.notify_url,
            "audit": self.audit_url,
        }

    def check(self) -> None:
        """Cross-field checks with one line per problem (raised at start)."""
        if self.auth is None:
            raise SystemExit(NO_AUTH)
        problems = []
        if self.production:
            problems += self.production_problems()
        if self.auth == "oidc":
            for name in ("oidc_issuer", "oidc_client_id", "oidc_redirect_uri"):
                if not getattr(self, name):
                    problems.append(f"DUCHA_WEB_{name.upper()} is required when DUCHA_WEB_AUTH=oidc")
        if self.evidence_store == "s3":
            for name in ("s3_bucket",):
                if not getattr(self, name):
                    problems.append(f"DUCHA_WEB_{name.upper()} is required when DUCHA_WEB_EVIDENCE_STORE=s3")
        if problems:
            raise SystemExit("invalid configuration for web:\n  " + "\n  ".join(problems))


NO_AUTH = ("web: no sign-in configured: set DUCHA_WEB_AUTH=oidc (the city's single sign-on) or "
           "DUCHA_WEB_AUTH=demo (passwordless demo accounts, a local trial only; ./dev.sh up --demo)")


def environment(**extra: str) -> dict[str, str]:
    """This process's environment plus `extra`: for the child processes of a development system
    (`ducha_web.devsystem`), which read their own settings from it."""
    return {**os.environ, **extra}


def load_settings(**overrides: object) -> WebSettings:
    try:
        settings = WebSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = ["invalid configuration for web:"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            lines.append(f"  DUCHA_WEB_{name.upper()}: {err['msg']}")
        raise SystemExit("\n".join(lines)) from None
    settings.check()
    return settings
