"""The dashboard's figures (statistics, ranking, lights) of a round.

Verification keeps the statistics incrementally (counters updated by its projection) and answers
them in one call, `GET /v1/figures`, scoped to the reader: milliseconds at 100,000 problems. So the
live dashboard asks it on every load with the reader's own token — the service authorizes and scopes
each reader, and no reader is ever served figures computed for another one.

Figures of a past moment (`?as_of=`, ducha_web.asof) are computed by the services from the log
once and never change: they are cached per reader (the same person, role and scope who was
authorized when they were computed) and moment. A verification without `/v1/figures` (an older
version, deployed one at a time) is asked as before: ranking, team statistics and light counts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ducha import figures
from ducha.contracts.base import Actor

from . import backend
from .services import ApiError, Services

MAX_CACHED = 256


def viewer_key(actor: Actor) -> tuple[str, str, str | None, str | None]:
    """Who reads: cached figures are served to this reader only."""
    return (actor.id, actor.role.value, actor.unit_id, actor.team_id)


def _empty() -> dict[str, Any]:
    return {"ranking": [], "total": figures.summarize([]), "teams": [], "lights": {"red": 0, "yellow": 0, "green": 0}}


async def compute(s: Services, token: str, round_id: str | None) -> dict[str, Any]:
    """The round's figures as this reader may see them (verification's `/v1/figures`)."""
    try:
        body = await s.get("verification", "/v1/figures", token, round_id=round_id)
    except ApiError as exc:
        if exc.status == 401:
            raise
        if exc.status in (404, 405):  # a verification without /v1/figures
            return await _assembled(s, token, round_id)
        return {**_empty(), "computed_at": time.time()}  # e.g. a role without statistics: an empty dashboard
    return {"ranking": list(body.get("ranking") or []), "total": body.get("total") or figures.summarize([]),
            "teams": list(body.get("teams") or []), "lights": {**_empty()["lights"], **(body.get("lights") or {})},
            "computed_at": time.time()}


async def _count(s: Services, token: str, **filters: Any) -> int:
    try:
        page = await backend.ledger(s, token, filters, 1, 0)
        return int(page.get("total", 0))
    except ApiError as exc:
        if exc.status == 401:
            raise
        return 0


async def _assembled(s: Services, token: str, round_id: str | None) -> dict[str, Any]:
    """The same figures from five calls (verification before `/v1/figures`)."""
    f = {"round_id": round_id}
    ranking, team_stats, red, yellow, green = await asyncio.gather(
        backend.ranking(s, token, round_id), backend.stats(s, token, "team", round_id),
        _count(s, token, light="red", **f), _count(s, token, light="yellow", **f),
        _count(s, token, light="green", **f),
    )
    team_stats = team_stats or {}
    total = team_stats.get("total") or figures.summarize([])
    return {"ranking": ranking, "total": total, "teams": figures.ranking(team_stats.get("groups") or [], "team_id"),
            "lights": {"red": red, "yellow": yellow, "green": green}, "computed_at": time.time()}


class FigureCache:
    """`keep=False` (live): every load asks the service. `keep=True` (a past moment): kept per reader."""

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self._data: dict[tuple[Any, ...], dict[str, Any]] = {}

    async def get(self, s: Services, actor: Actor, token: str, round_id: str | None) -> dict[str, Any]:
        if not self.keep:
            return await compute(s, token, round_id)
        key = (*viewer_key(actor), round_id)
        cached = self._data.get(key)
        if cached is None:
            cached = await compute(s, token, round_id)
            while len(self._data) >= MAX_CACHED:
                self._data.pop(next(iter(self._data)))
            self._data[key] = cached
        return cached
