"""The workbench as of a past moment (issue 20): `?as_of=N` on the dashboard and the ledger (and its
Excel export) shows them from the services' projections rebuilt from the log up to sequence N
(`ducha.audit.asof_http`), read-only, under a banner naming the moment. `/asof` picks the moment
from a date or a published bulletin.

The page code is the live one: `view(web, request)` gives the pages a `Web` whose service client
adds `as_of` to every read and refuses every write, with its own figure cache per moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ducha.kernel.calendar import CITY_TZ
from fastapi import Request

from .figures import FigureCache
from .services import ApiError, Services

AS_OF = "as_of"


@dataclass(frozen=True)
class Moment:
    sequence: int
    label: str  # e.g. 截至 2026-11-30 24:00 的状态


class AsOfServices:
    """The service client, reading as of one log sequence; writing is refused."""

    def __init__(self, inner: Services, sequence: int) -> None:
        self.inner = inner
        self.sequence = sequence
        self.urls = inner.urls
        self.http = inner.http

    async def request(self, service: str, method: str, path: str, token: str | None, *,
                      params: dict[str, Any] | None = None, **kw: Any) -> Any:
        if method.upper() not in ("GET", "HEAD"):
            raise ApiError(405, "read_only", "这是历史状态（只读），不能在此办理事项")
        return await self.inner.request(service, method, path, token, params={**(params or {}), AS_OF: self.sequence},
                                        **kw)

    async def get(self, service: str, path: str, token: str | None, **params: Any) -> Any:
        return await self.request(service, "GET", path, token, params=params)

    async def post(self, service: str, path: str, token: str | None, body: Any = None,
                   idempotency_key: str | None = None, **params: Any) -> Any:
        return await self.request(service, "POST", path, token, params=params)

    async def aclose(self) -> None:
        """The live client is closed by its owner."""


class AsOfWeb:
    """A read-only view of `Web` at one moment: every attribute is the live one but the service
    client, the figure cache (one per moment) and the trend (not shown as of a moment)."""

    def __init__(self, web: Any, moment: Moment, figures: FigureCache) -> None:
        self._web = web
        self.moment = moment
        self.services = AsOfServices(web.services, moment.sequence)
        self.figures = figures
        self.trend = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._web, name)


_FIGURES: dict[int, FigureCache] = {}
MAX_MOMENTS = 8


def requested_sequence(request: Request) -> int | None:
    raw = request.query_params.get(AS_OF)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid", "历史状态的序号不正确", AS_OF) from None
    if value < 0:
        raise ApiError(422, "invalid", "历史状态的序号不正确", AS_OF)
    return value


def label_of(moment: datetime | None, sequence: int) -> str:
    if moment is None:
        return f"截至第 {sequence} 条记录的状态"
    local = moment.astimezone(CITY_TZ)
    return f"截至 {local:%Y-%m-%d %H:%M} 的状态（第 {sequence} 条记录）"


def view(web: Any, sequence: int, label: str) -> AsOfWeb:
    figures = _FIGURES.get(sequence)
    if figures is None:
        while len(_FIGURES) >= MAX_MOMENTS:
            _FIGURES.pop(next(iter(_FIGURES)))
        figures = _FIGURES[sequence] = FigureCache(keep=True)  # a past moment never changes: kept per reader
    return AsOfWeb(web, Moment(sequence, label), figures)


async def moment_of(web: Any, sequence: int) -> str:
    """The label of a log sequence: the time it was stored (through the web's own NATS connection)."""
    kernel = getattr(web, "kernel", None)
    if kernel is None or sequence == 0:
        return label_of(None, sequence)
    try:
        raw = await kernel.store.js.get_msg(kernel.store.stream, seq=sequence)
    except Exception:  # noqa: BLE001 - a label only: fall back to the sequence
        return label_of(None, sequence)
    return label_of(raw.time, sequence)
