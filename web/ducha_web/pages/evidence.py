"""Evidence downloads and thumbnails: only to a person who may see a problem that refers to the
file (the services decide who sees the problem; the hash must be among the problem's evidence),
and only if the file belongs to a party of that problem (uploaded by its unit, its team, an
assigned helper department or the office: `evidence.problem_parties`)."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from .. import backend
from ..evidence import HEX, problem_parties
from ..runtime import get_web, require_session
from ..services import ApiError
from ..timeline import evidence_refs
from .common import router

r = router()
# (token, problem) -> (when, refs, parties): a page with many thumbnails asks the services once
_SEEN: dict[tuple[str, str], tuple[float, frozenset[str], frozenset[str]]] = {}
SEEN_SECONDS = 60.0


async def _allowed(request: Request, sha: str, problem: str) -> bool:
    session = await require_session(request)
    web = await get_web(request)
    if not HEX.match(sha) or not problem:
        return False
    key = (session.token, problem)
    now = time.monotonic()
    cached = _SEEN.get(key)
    # a hash not in the cached list may have been added since (a new submission): ask again then
    if cached is None or now - cached[0] > SEEN_SECONDS or sha not in cached[1]:
        try:
            view = await backend.problem(web.services, session.token, problem)
        except ApiError as exc:
            if exc.status == 401:
                raise
            return False
        if len(_SEEN) > 5000:
            _SEEN.clear()
        helpers = {str(h.get("helper_id")) for h in (view.rect or {}).get("helps") or [] if h.get("helper_id")}
        parties = problem_parties(str(view.intake.get("unit_id", "")), view.intake.get("team_id"), helpers)
        cached = _SEEN[key] = (now, frozenset(evidence_refs(view)), frozenset(parties))
    if sha not in cached[1]:
        return False
    # evidence belongs to whoever uploaded it: a hash attached by someone else is not honoured
    return bool(await web.evidence.owners(sha) & cached[2])


# Shown in the browser: raster images and PDF only. SVG and HTML can carry scripts that would run
# on the workbench's origin, so they, like anything not listed, are downloaded, never rendered.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
# Downloaded under their own type (office documents, archives, text); anything else as bytes.
DOWNLOAD_TYPES = frozenset({
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip", "text/plain", "text/csv", "video/mp4", "audio/mpeg",
})


def served_as(declared: str) -> tuple[str, str]:
    """(Content-Type, disposition) for a stored file whose uploader declared `declared`."""
    ctype = declared.split(";", 1)[0].strip().lower()
    if ctype in INLINE_TYPES:
        return ctype, "inline"
    if ctype in DOWNLOAD_TYPES:
        return ctype, "attachment"
    return "application/octet-stream", "attachment"


@r.get("/evidence/{sha}", include_in_schema=False)
async def download(request: Request, sha: str, problem: str = "") -> Response:
    if not await _allowed(request, sha, problem):
        return Response("未找到，或您无权查看", status_code=404, media_type="text/plain; charset=utf-8")
    web = await get_web(request)
    got = await web.evidence.get(sha)
    if got is None:
        return Response("文件不存在", status_code=404, media_type="text/plain; charset=utf-8")
    data, meta = got
    name = meta.get("name") or sha
    ctype, disp = served_as(meta.get("content_type") or "")
    return Response(data, media_type=ctype, headers={
        "Content-Disposition": f"{disp}; filename=\"{sha[:12]}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"})


@r.get("/evidence/{sha}/thumb", include_in_schema=False)
async def thumbnail(request: Request, sha: str, problem: str = "") -> Response:
    if not await _allowed(request, sha, problem):
        return Response(status_code=404)
    web = await get_web(request)
    data = await web.evidence.thumbnail(sha)
    if data is None:
        return Response(status_code=404)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
