"""Request-body limits at the edge, before anything else runs.

A pure ASGI middleware, outermost in every app (services and workbench): a request whose declared
`Content-Length` exceeds its route class's maximum is answered 413 without reading a byte of the
body, before authentication, CSRF checks or form parsing; a body without a length (chunked) is
counted while it streams and cut off with 413 once it passes the maximum, so nothing larger is
ever spooled to disk or memory.

Route classes: uploads (`multipart/form-data`: spreadsheets, evidence files) and everything else
(JSON, url-encoded forms). The maxima are settings (`DUCHA_MAX_JSON_BYTES`,
`DUCHA_MAX_UPLOAD_BYTES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_JSON_BYTES = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 26 * 1024 * 1024  # the workbench's 25 MB evidence files plus the form around them


@dataclass(frozen=True)
class BodyLimits:
    json_bytes: int = DEFAULT_MAX_JSON_BYTES
    upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    def for_content_type(self, content_type: str) -> tuple[int, str]:
        if content_type.lower().startswith("multipart/"):
            return self.upload_bytes, "upload"
        return self.json_bytes, "request body"


class BodyTooLarge(HTTPException):
    """Raised from `receive` while the body streams; an HTTPException so that FastAPI's body
    parsing passes it on (anything else it turns into 400) and the app answers it in the error shape."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(413, f"the {what} is larger than {limit} bytes (内容过大)")
        self.limit = limit
        self.what = what


def _too_large_body(limit: int, what: str) -> bytes:
    body = {"error": {"code": "too_large", "message": f"the {what} is larger than {limit} bytes (内容过大)",
                      "field": None, "details": [{"limit_bytes": limit}]}}
    return json.dumps(body, ensure_ascii=False).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit, what = self.limits.for_content_type(content_type)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await _answer(send, 400, json.dumps({"error": {
                    "code": "invalid", "message": "Content-Length is not a number", "field": "Content-Length",
                    "details": []}}).encode())
                return
            if length > limit:
                await _answer(send, 413, _too_large_body(limit, what), close=True)
                return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, what)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, _too_large_body(exc.limit, exc.what), close=True)


async def _answer(send: Send, status: int, body: bytes, close: bool = False) -> None:
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        # the rest of the body is not read: the client must not reuse the connection for it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
