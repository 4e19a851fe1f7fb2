"""To-do queues (待办): what waits for the signed-in person, per role, with counts — on the
dashboard, the unit and helper homes, the /todo page and (the total) in every page's header.

Each queue is one count the services answer server-side (a ledger filter, a pending list), so a
queue's count and the list behind its link are the same query. Counts are cached per person for a
few seconds: the header asks on every page."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ducha.contracts.base import Actor, Role

from . import backend
from .services import ApiError, Services

FRESH = 15.0


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    count: int
    href: str


async def _ledger_count(s: Services, token: str, **filters: Any) -> int:
    page = await backend.ledger(s, token, filters, 1, 0)
    return int(page.get("total", 0))


async def _total(coro: Any) -> int:
    body = await coro
    return int(body.get("total", 0)) if isinstance(body, dict) else 0


async def _proposals_to_confirm(s: Services, token: str, actor: Actor) -> int:
    """Severe problems whose review a member proposed and the leader has to confirm or return."""
    body = await s.get("verification", "/v1/problems", token, team_id=actor.team_id, stage="submitted")
    return sum(1 for p in (body or {}).get("problems", [])
               if p.get("proposal_submission_no") is not None and p.get("proposed_by") != actor.id)


def _specs(s: Services, token: str, actor: Actor) -> list[tuple[str, str, str, Any]]:
    """(key, label, link, awaitable count) for the actor's role."""
    role = actor.role
    if role == Role.OFFICE:
        return [
            ("help", "待指派帮扶单位", "/ledger?pending=help", _ledger_count(s, token, pending="help")),
            ("extension", "待审批延期申请", "/ledger?pending=extension", _ledger_count(s, token, pending="extension")),
            ("contents", "待审批督查内容", "/dashboard#pending-contents",
             _total(s.get("intake", "/v1/contents/pending", token, limit=1))),
            ("suggestions", "待处理建议", "/dashboard#suggestions",
             _total(s.get("intake", "/v1/suggestions", token, status="open", limit=1))),
        ]
    if role == Role.TEAM:
        out = [
            ("feed_back", "待交办问题", "/ledger#reported",
             _total(s.get("intake", "/v1/problems", token, status="reported", team_id=actor.team_id, limit=1))),
            ("review", "待审核验收", "/ledger?status=submitted", _ledger_count(s, token, status="submitted")),
            ("extension", "待审批延期申请", "/ledger?pending=extension", _ledger_count(s, token, pending="extension")),
        ]
        if actor.team_leader:
            out.append(("confirm", "待组长确认（严重问题）", "/todo#confirm", _proposals_to_confirm(s, token, actor)))
        return out
    if role == Role.UNIT:
        return [
            ("commit", "待承诺整改时限", "/ledger?status=awaiting_commitment",
             _ledger_count(s, token, status="awaiting_commitment")),
            ("reminder", "待确认提醒/催办", "/ledger?pending=reminder", _ledger_count(s, token, pending="reminder")),
            ("red", "超期（红灯）", "/ledger?light=red", _ledger_count(s, token, light="red")),
        ]
    if role == Role.HELPER:
        return [("help_report", "待报告帮扶情况", "/ledger?pending=help_report",
                 _ledger_count(s, token, pending="help_report"))]
    if role == Role.CADRE:
        return [("red", "超期问题（红灯）", "/ledger?light=red", _ledger_count(s, token, light="red"))]
    return []


async def compute(s: Services, token: str, actor: Actor) -> list[Queue]:
    specs = _specs(s, token, actor)
    counts = await asyncio.gather(*(count for *_rest, count in specs), return_exceptions=True)
    out = []
    for (key, label, href, _c), n in zip(specs, counts, strict=True):
        if isinstance(n, ApiError) and n.status == 401:
            raise n
        out.append(Queue(key, label, n if isinstance(n, int) else 0, href))
    return out


class QueueCache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, list[Queue]]] = {}

    async def get(self, s: Services, token: str, actor: Actor, fresh: bool = False) -> list[Queue]:
        key = f"{actor.id}:{actor.role.value}:{actor.team_id}:{actor.unit_id}"
        cached = self._data.get(key)
        if cached and not fresh and time.monotonic() - cached[0] < FRESH:
            return cached[1]
        value = await compute(s, token, actor)
        if len(self._data) > 5000:  # people, not requests: a bound against growth only
            self._data.clear()
        self._data[key] = (time.monotonic(), value)
        return value

    def forget(self, actor: Actor) -> None:
        """After the person acts, their queues change: the next page counts again."""
        for key in [k for k in self._data if k.startswith(f"{actor.id}:")]:
            del self._data[key]
