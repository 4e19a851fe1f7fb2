"""The dashboard's figures (statistics, ranking, lights), cached per scope and round.

The services compute these over every problem of a round, which takes seconds with 100,000 problems;
a dashboard is read far more often than it needs to change. So the figures are kept per scope (the
city for the office and cadre supervision, each team for itself) and round: served from the cache
while younger than FRESH seconds, served stale and refreshed in the background while younger than
STALE, else computed while the reader waits. Running under `ducha run`, the workbench also warms the
city's figures of every open round in the background, so the office never waits for them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ducha import figures
from ducha.contracts.base import Actor, Role

from . import backend
from .services import ApiError, Services

log = logging.getLogger("ducha.web.figures")
FRESH = 30.0
STALE = 900.0
def scope_key(actor: Actor) -> str:
    if actor.role in (Role.OFFICE, Role.CADRE, Role.SYSTEM):
        return "city"
    if actor.role == Role.TEAM:
        return f"team:{actor.team_id}"
    return f"{actor.role.value}:{actor.unit_id}"


async def _count(s: Services, token: str, **filters: Any) -> int:
    try:
        page = await backend.ledger(s, token, filters, 1, 0)
        return int(page.get("total", 0))
    except ApiError as exc:
        if exc.status == 401:
            raise
        return 0


async def compute(s: Services, token: str, round_id: str | None) -> dict[str, Any]:
    f = {"round_id": round_id}
    ranking, team_stats, red, yellow, green = await asyncio.gather(
        backend.ranking(s, token, round_id),
        backend.stats(s, token, "team", round_id),
        _count(s, token, light="red", **f), _count(s, token, light="yellow", **f),
        _count(s, token, light="green", **f),
    )
    # Figures as the statistics API defines them (ducha.figures): the round's totals are its
    # `total`, never re-added here; teams are ranked in the same order as units.
    team_stats = team_stats or {}
    total = team_stats.get("total") or figures.summarize([])
    return {"ranking": ranking, "total": total, "teams": figures.ranking(team_stats.get("groups") or [], "team_id"),
            "lights": {"red": red, "yellow": yellow, "green": green}, "computed_at": time.time()}


class FigureCache:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str | None], tuple[float, dict[str, Any]]] = {}
        self._running: dict[tuple[str, str | None], asyncio.Task[dict[str, Any]]] = {}

    async def get(self, s: Services, actor: Actor, token: str, round_id: str | None) -> dict[str, Any]:
        key = (scope_key(actor), round_id)
        now = time.monotonic()
        cached = self._data.get(key)
        if cached and now - cached[0] < FRESH:
            return cached[1]
        if cached and now - cached[0] < STALE:
            self._refresh(key, s, token)
            return cached[1]
        return await self._refresh(key, s, token)

    def _refresh(self, key: tuple[str, str | None], s: Services, token: str) -> asyncio.Task[dict[str, Any]]:
        task = self._running.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self._compute(key, s, token))
            self._running[key] = task
        return task

    async def _compute(self, key: tuple[str, str | None], s: Services, token: str) -> dict[str, Any]:
        value = await compute(s, token, key[1])
        self._data[key] = (time.monotonic(), value)
        return value

    async def warm(self, s: Services, token: str) -> None:
        """Refresh the city's figures of every open round (office token of the workbench itself)."""
        for rd in await backend.rounds(s, token):
            if rd.get("status") == "open":
                try:
                    await self._compute(("city", rd["id"]), s, token)
                except ApiError as exc:
                    log.info("could not warm the figures of round %s: %s", rd.get("id"), exc)
