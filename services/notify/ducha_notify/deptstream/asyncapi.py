"""`GET /asyncapi.json` (AsyncAPI 3) and `GET /asyncapi` (readable page): the catalogue of what
departments receive (`catalogue`). Public like the contracts themselves: no sign-in."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from .catalogue import asyncapi_html, asyncapi_json

router = APIRouter(tags=["department stream"])


@router.get("/asyncapi.json", summary="AsyncAPI 3 document of the department stream DUCHA_DEPT")
async def asyncapi_document() -> Response:
    body = await asyncio.to_thread(asyncapi_json)  # the first call builds it (tens of ms)
    return Response(body, media_type="application/json")


@router.get("/asyncapi", summary="the department stream's events, as a page", response_class=HTMLResponse)
async def asyncapi_page() -> HTMLResponse:
    return HTMLResponse(await asyncio.to_thread(asyncapi_html))
