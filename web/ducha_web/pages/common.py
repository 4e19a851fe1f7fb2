"""Helpers shared by the page routers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

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
    if url and url.startswith("/") and not url.startswith("//") and not url.startswith("/\\"):
        return url
    return default
