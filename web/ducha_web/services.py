"""The backend-for-frontend's HTTP client: calls the four services with the signed-in person's
bearer token and turns their error format into `ApiError`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx

log = logging.getLogger("ducha.web.services")

SERVICE_ZH = {"intake": "问题受理服务", "rectification": "整改服务", "verification": "审核验收服务",
              "notify": "通知通报服务"}


class ApiError(Exception):
    """A service refused or failed: `status`, `code`, `message`, `field` as in the services' error body."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 details: list[dict[str, Any]] | None = None, service: str = "") -> None:
        super().__init__(f"{service} {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or []
        self.service = service

    @property
    def fields(self) -> dict[str, str]:
        """Every invalid field named by the service (422), first message per field."""
        out: dict[str, str] = {}
        for d in self.details:
            f = d.get("field")
            if f and f not in out:
                out[str(f)] = str(d.get("message", ""))
        if self.field and self.field not in out:
            out[self.field] = self.message
        return out


class Services:
    """One pooled `httpx.AsyncClient` for all four services."""

    def __init__(self, urls: dict[str, str], timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.urls = dict(urls)
        self.http = httpx.AsyncClient(
            timeout=timeout, transport=transport,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(self, service: str, method: str, path: str, token: str | None, *,
                      params: dict[str, Any] | None = None, json: Any = None,
                      idempotency_key: str | None = None, raw: bool = False,
                      files: dict[str, tuple[str, bytes, str]] | None = None,
                      form: dict[str, str] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if method.upper() != "GET":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        url = self.urls[service] + path
        for attempt in range(4):
            try:
                resp = await self.http.request(method, url, params=clean, headers=headers,
                                               **({"files": files, "data": form or {}} if files else {"json": json}))
            except httpx.HTTPError as exc:
                log.warning("%s %s unreachable: %r", method, url, exc)
                raise ApiError(503, "unavailable", f"{SERVICE_ZH.get(service, service)}暂时无法访问，请稍后重试",
                               service=service) from None
            # 503 "not yet visible": the service has not caught up with a write yet; reads retry briefly
            # (commands too: the same Idempotency-Key makes a repeat safe)
            if resp.status_code != 503 or attempt == 3:
                break
            await asyncio.sleep(0.3 * (attempt + 1))
        if resp.status_code >= 400:
            raise _error(service, resp)
        if raw:
            return resp
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    async def get(self, service: str, path: str, token: str | None, **params: Any) -> Any:
        return await self.request(service, "GET", path, token, params=params)

    async def post(self, service: str, path: str, token: str | None, body: Any = None,
                   idempotency_key: str | None = None, **params: Any) -> Any:
        return await self.request(service, "POST", path, token, json=body if body is not None else {},
                                  params=params, idempotency_key=idempotency_key)


    async def upload(self, service: str, path: str, token: str | None, name: str, data: bytes, content_type: str,
                     form: dict[str, str] | None = None, idempotency_key: str | None = None) -> Any:
        """A file as multipart/form-data field `file` (the services' sheet imports)."""
        return await self.request(service, "POST", path, token, files={"file": (name, data, content_type)},
                                  form=form, idempotency_key=idempotency_key)


def _error(service: str, resp: httpx.Response) -> ApiError:
    try:
        body = resp.json()
        err = body.get("error", {}) if isinstance(body, dict) else {}
    except ValueError:
        err = {}
    if not err and isinstance(locals().get("body"), dict) and "detail" in body:  # plain FastAPI error
        err = {"message": str(body["detail"])}
    return ApiError(
        resp.status_code, str(err.get("code") or "error"),
        str(err.get("message") or resp.reason_phrase or "error"), err.get("field"),
        list(err.get("details") or []), service=service,
    )
