"""What the pages read from and send to the four services. Every call carries the signed-in
person's token; the services enforce scope. This is the one module that knows the services' paths.

Reads that several pages share are gathered concurrently (asyncio.gather); paging, filtering and
sorting of the ledger are done by the rectification service (server-side)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ducha.contracts.base import Actor

from .services import ApiError, Services

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

log = logging.getLogger("ducha.web.backend")

MAX_PAGE = 500


async def all_items(services: Services, service: str, path: str, token: str, limit: int = 5000,
                    **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list (`items`, `total`), up to `limit` items."""
    out: list[dict[str, Any]] = []
    offset = 0
    while len(out) < limit:
        page = await services.get(service, path, token, limit=min(MAX_PAGE, limit - len(out)), offset=offset,
                                  **params)
        items = page.get("items", []) if isinstance(page, dict) else []
        out.extend(items)
        offset += len(items)
        if not items or offset >= int(page.get("total", 0)):
            break
    return out


async def optional(coro: Any, default: Any = None) -> Any:
    """A read whose failure (not found, not allowed, service down) only leaves a part of a page empty."""
    try:
        return await coro
    except ApiError as exc:
        if exc.status in (401,):
            raise
        return default


# ----------------------------------------------------------------------------------- reference
async def rounds(s: Services, token: str) -> list[dict[str, Any]]:
    items = await optional(all_items(s, "intake", "/v1/rounds", token), [])
    return sorted(items, key=lambda r: (r.get("number", 0), r.get("starts_on", "")), reverse=True)


async def teams(s: Services, token: str, round_id: str | None = None) -> list[dict[str, Any]]:
    return list(await optional(all_items(s, "intake", "/v1/teams", token, round_id=round_id), []))


async def units(s: Services, token: str) -> list[dict[str, Any]]:
    return list(await optional(all_items(s, "intake", "/v1/units", token), []))


async def helpers(s: Services, token: str) -> list[dict[str, Any]]:
    return list(await optional(all_items(s, "intake", "/v1/helpers", token), []))


# --------------------------------------------------------------------------------------- ledger
LEDGER_FILTERS = ("round_id", "team_id", "unit_id", "status", "light", "severity", "category", "q", "sort", "pending")


async def ledger(s: Services, token: str, filters: dict[str, Any], limit: int, offset: int = 0,
                 cursor: str | None = None) -> dict[str, Any]:
    """One page of rectification's ledger: by keyset `cursor` (the `next_cursor`/`prev_cursor` of a
    page; constant time at any depth) when given, else by `offset`."""
    params = {k: filters.get(k) for k in LEDGER_FILTERS}
    where: dict[str, Any] = {"cursor": cursor} if cursor else {"offset": offset or None}
    return await s.get("rectification", "/v1/ledger", token, limit=limit, **where, **params)  # type: ignore[no-any-return]


async def ledger_pages(s: Services, token: str, filters: dict[str, Any], max_rows: int,
                       page_size: int = MAX_PAGE) -> AsyncIterator[list[dict[str, Any]]]:
    """The ledger's rows page after page (cursor paging when the service answers `next_cursor`,
    else offsets), at most `max_rows`; one page in memory at a time."""
    seen, offset, cursor = 0, 0, None
    while seen < max_rows:
        page = await ledger(s, token, filters, min(page_size, max_rows - seen), offset, cursor)
        items = list(page.get("items", []))
        if not items:
            return
        yield items
        seen += len(items)
        offset += len(items)
        if "next_cursor" in page:
            cursor = page.get("next_cursor")
            if not cursor:
                return
        elif offset >= int(page.get("total", 0)):
            return


async def reported_problems(s: Services, token: str, limit: int = 200, **filters: Any) -> dict[str, Any]:
    """Problems reported and not yet fed back (they are not on the rectification ledger yet)."""
    return await s.get("intake", "/v1/problems", token, status="reported", limit=limit, **filters)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------- problem
@dataclass
class ProblemView:
    id: str
    intake: dict[str, Any]
    rect: dict[str, Any] | None = None
    ver: dict[str, Any] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """One status across the services: verification's stage wins from submission on."""
        stage = (self.ver or {}).get("stage")
        rect_status = (self.rect or {}).get("status")
        if self.intake.get("status") in ("withdrawn", "duplicate"):
            return str(self.intake["status"])
        if stage in ("written_off", "held", "accepted"):
            return str(stage)
        if rect_status:
            return str(rect_status)
        if stage:
            return str(stage)
        return str(self.intake.get("status") or "reported")


async def problem(s: Services, token: str, problem_id: str, min_sequence: int | None = None) -> ProblemView:
    """Everything about one problem. Raises ApiError 404 when intake does not show it to this person.
    `min_sequence`: a command's log sequence, so the page shows what the person just did."""
    seq = {"min_sequence": min_sequence} if min_sequence else {}
    intake: Any
    rect: Any
    ver: Any
    intake, rect, ver = await asyncio.gather(
        s.get("intake", f"/v1/problems/{problem_id}", token, **seq),
        optional(s.get("rectification", f"/v1/problems/{problem_id}", token, **seq)),
        optional(s.get("verification", f"/v1/problems/{problem_id}", token, **seq)),
        return_exceptions=True,
    )
    rect = None if isinstance(rect, BaseException) else rect
    if isinstance(intake, ApiError) and intake.status == 403 and isinstance(rect, dict):
        # A helper department is not a reader of intake; rectification decides (from the help
        # assignment on) that it may see the problem, and its ledger line carries the facts.
        intake = intake_from_ledger(rect)
    if isinstance(intake, BaseException):
        raise intake
    return ProblemView(problem_id, intake, rect, None if isinstance(ver, BaseException) else ver)


LEDGER_FACTS = ("unit_id", "team_id", "round_id", "title", "category", "severity", "publishable",
                "responsible_person", "responsible_person_title", "requirements", "commit_deadline_by",
                "max_deadline", "supervision_no")


def intake_from_ledger(rect: dict[str, Any]) -> dict[str, Any]:
    """The problem's intake facts as rectification's ledger line has them (fed back by then)."""
    out = {k: rect.get(k) for k in LEDGER_FACTS if rect.get(k) is not None}
    out.update(id=rect.get("problem_id"), status="fed_back", unit_name=rect.get("unit_name"))
    return out


async def stats(s: Services, token: str, by: str, round_id: str | None) -> dict[str, Any] | None:
    return await optional(s.get("verification", "/v1/stats", token, by=by, round_id=round_id))  # type: ignore[no-any-return]


async def ranking(s: Services, token: str, round_id: str | None) -> list[dict[str, Any]]:
    body = await optional(s.get("verification", "/v1/ranking", token, round_id=round_id))
    return list((body or {}).get("ranking", []))


async def pending_contents(s: Services, token: str, round_id: str | None) -> dict[str, Any]:
    return await optional(s.get("intake", "/v1/contents/pending", token, round_id=round_id, limit=50),  # type: ignore[no-any-return]
                          {"items": [], "total": 0})


async def open_suggestions(s: Services, token: str, round_id: str | None) -> dict[str, Any]:
    return await optional(s.get("intake", "/v1/suggestions", token, round_id=round_id, status="open", limit=50),  # type: ignore[no-any-return]
                          {"items": [], "total": 0})


# ------------------------------------------------------------------------------ capabilities
_CAPS: dict[str, set[str]] = {}


async def query_params(s: Services, service: str, path: str) -> set[str]:
    """The query parameters a service's GET route accepts (from its OpenAPI), cached: lets the
    pages offer a filter or a sort only when the service can do it server-side."""
    key = f"{service}:{path}"
    if key not in _CAPS:
        try:
            doc = await s.get(service, "/openapi.json", None)
            op = doc["paths"][path]["get"]
            _CAPS[key] = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        except (ApiError, KeyError, TypeError):
            return set()  # unknown for now; ask again next time
    return _CAPS[key]


async def audit_timeline(s: Services, token: str, actor: Actor, kernel: Kernel | None, audit_url: str | None,
                         problem_id: str, unit_id: str) -> list[dict[str, Any]] | None:
    """The problem's complete history from the audit timeline (ducha.audit): over HTTP from the
    service configured by DUCHA_WEB_AUDIT_URL, or read from the log in-process when the workbench runs
    as a kernel service (same function and the same visibility rule as the audit router). None when
    neither is available or the reader may not see it."""
    if audit_url:
        try:
            resp = await s.http.get(f"{audit_url.rstrip('/')}/v1/audit/problems/{problem_id}/timeline",
                                    params={"unit": unit_id}, headers={"Authorization": f"Bearer {token}"})
            if resp.status_code == 200:
                return list(resp.json().get("events", []))
        except Exception as exc:  # noqa: BLE001 - fall back to reading the log here, else the assembled timeline
            log.info("audit timeline of %s not available: %r", problem_id, exc)
    if kernel is None:
        return None
    try:
        from ducha.audit.timeline import disclosed_timeline
        from ducha.disclosure import Viewer
    except ImportError:
        return None
    try:  # the workbench knows no team assignments: a team sees here what it reported itself
        entries = await disclosed_timeline(kernel.store, unit_id, problem_id, Viewer.of(actor))
    except Exception:  # noqa: BLE001
        return None
    return entries or None
