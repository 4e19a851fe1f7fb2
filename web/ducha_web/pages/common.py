"""Helpers shared by the page routers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..runtime import PageRoute

FLASH = "ducha_flash"


def router() -> APIRouter:
    return APIRouter(route_class=PageRoute)


def redirect(url: str, flash: str | None = None, kind: str = "ok") -> RedirectResponse:
    resp = RedirectResponse(url, status_code=303)
    if flash:
        resp.set_cookie(FLASH, quote(f"{kind}|{flash}"), max_age=60, httponly=True, samesite="lax", path="/")
    return resp


def take_flash(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(FLASH)
    if not raw:
        return {}
    kind, _, text = unquote(raw).partition("|")
    return {"flash": text, "flash_kind": kind if kind in ("ok", "err") else "ok", "_clear_flash": True}


def clear_flash(resp: Response, ctx: dict[str, Any]) -> Response:
    if ctx.get("_clear_flash"):
        resp.delete_cookie(FLASH, path="/")
    return resp


def safe_next(url: str | None, default: str = "/") -> str:
    """`url` if it is a path on this site, else `default`: never another site (`//x`, `/\\x`, a
    scheme), and no control characters, which browsers drop before reading `/\t/x` as `//x`."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return default
    if "\\" in url or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return default
    return url
