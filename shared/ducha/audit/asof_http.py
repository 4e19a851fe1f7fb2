"""Reads as of a past moment over HTTP: `GET /v1/...?as_of=N` on any service answers from that
service's projections rebuilt from the log up to sequence N, with the same query code as the live
answer (docs/audit.md, "As-of in the workbench").

- Read-only: any other method with `as_of` is refused (405), nothing is written anywhere but the
  scratch database.
- Built once per moment and kept (the last `CAPACITY` moments per process), in a scratch database
  like the live one (a SQLite file, or a PostgreSQL schema), dropped on eviction and at shutdown.
- While a moment is being built the answer is 503 `as_of_building` with `Retry-After` and the
  progress per projection in `details`, so a page can show a progress indicator; a small log is
  built within the first request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ..kernel.clock import ManualClock
from ..kernel.http import error_response, install_error_handlers
from ..kernel.runtime import Kernel
from ..kernel.service import ServiceSpec
from .replay import Progress, Scratch, as_of

log = logging.getLogger("ducha.audit.asof")

AS_OF_PARAM = "as_of"
CAPACITY = 4
FIRST_WAIT_SECONDS = 3.0


class _Recorder(Progress):
    """Keeps the progress of each projection instead of drawing a bar."""

    def __init__(self) -> None:
        super().__init__(out=None)
        self.state: dict[str, tuple[int, int]] = {}

    def show(self, label: str, done: int, total: int) -> None:
        self.state[label] = (done, total)


@dataclasses.dataclass
class _Build:
    sequence: int
    progress: _Recorder
    task: asyncio.Task[None] | None = None
    scratch: Scratch | None = None
    app: FastAPI | None = None
    error: str | None = None


class AsOfReads:
    """The moments built for one service process."""

    def __init__(self, spec: ServiceSpec, capacity: int = CAPACITY) -> None:
        self.spec = spec
        self.capacity = capacity
        self.builds: OrderedDict[int, _Build] = OrderedDict()
        self._lock = asyncio.Lock()

    async def get(self, kernel: Kernel, sequence: int) -> _Build:
        async with self._lock:
            build = self.builds.get(sequence)
            if build is not None:
                self.builds.move_to_end(sequence)
                return build
            build = _Build(sequence, _Recorder())
            build.task = asyncio.create_task(self._build(kernel, build), name=f"as-of {sequence}")
            self.builds[sequence] = build
            while len(self.builds) > self.capacity:
                _, old = self.builds.popitem(last=False)
                self._drop(old)
            return build

    async def _build(self, kernel: Kernel, build: _Build) -> None:
        try:
            scratch, _target, _summaries = await as_of(
                self.spec, kernel.store, kernel.settings.resolved_database_url(), sequence=build.sequence,
                progress=build.progress)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a build is shown on its page
            log.error("as-of %d of %s failed: %r", build.sequence, self.spec.name, exc)
            build.error = str(exc) or exc.__class__.__name__
            return
        build.scratch = scratch
        build.app = self._shadow_app(kernel, scratch, await self._moment(kernel, build.sequence))

    @staticmethod
    async def _moment(kernel: Kernel, sequence: int) -> datetime:
        """When event `sequence` was stored: the shadow's clock, so that figures relative to "now"
        (overdue, lights) are those of that moment."""
        if sequence == 0:
            return datetime.fromtimestamp(0, UTC)
        raw = await kernel.store.js.get_msg(kernel.store.stream, seq=sequence)
        return raw.time or datetime.now(UTC)

    def _shadow_app(self, kernel: Kernel, scratch: Scratch, moment: datetime) -> FastAPI:
        """The service's routers over the scratch database with the clock stopped at the moment;
        no runners, so nothing waits for the live projections (`min_sequence` is satisfied)."""
        app = FastAPI()
        install_error_handlers(app)
        for router in self.spec.routers():
            app.include_router(router)
        app.state.kernel = dataclasses.replace(kernel, engine=scratch.engine, runners={}, reactors={}, tasks=[],
                                               clock=ManualClock(moment))
        return app

    def _drop(self, build: _Build) -> None:
        if build.task is not None and not build.task.done():
            build.task.cancel()
        if build.scratch is not None:
            try:
                build.scratch.drop()
            except Exception as exc:  # noqa: BLE001 - a leftover scratch must not break reads
                log.warning("as-of scratch %s not dropped: %r", build.scratch.describe(), exc)

    def close(self) -> None:
        for build in self.builds.values():
            self._drop(build)
        self.builds.clear()


class AsOfMiddleware:
    """ASGI middleware: `?as_of=N` on a GET under /v1/ is answered by the moment's shadow app."""

    def __init__(self, app: ASGIApp, reads: AsOfReads) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"as_of=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        raw = [v for k, v in params if k == AS_OF_PARAM]
        if not raw or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await error_response(405, "read_only", "as_of reads are read-only: send commands without as_of",
                                 AS_OF_PARAM)(scope, receive, send)
            return
        kernel = scope["app"].state.kernel
        last = await kernel.store.last_sequence()
        try:
            sequence = int(raw[-1])
            if not 0 <= sequence <= last:
                raise ValueError
        except ValueError:
            await error_response(422, "invalid", f"as_of must be a log sequence between 0 and {last}",
                                 AS_OF_PARAM)(scope, receive, send)
            return
        build = await self.reads.get(kernel, sequence)
        if build.app is None and build.error is None and build.task is not None:
            await asyncio.wait([build.task], timeout=FIRST_WAIT_SECONDS)
        if build.error is not None:
            await error_response(500, "as_of_failed", f"as-of {sequence} could not be built: {build.error}",
                                 AS_OF_PARAM)(scope, receive, send)
            return
        if build.app is None:
            details = [{"projection": label, "done": done, "total": total}
                       for label, (done, total) in sorted(build.progress.state.items())]
            await error_response(503, "as_of_building", f"building the state as of log sequence {sequence}",
                                 AS_OF_PARAM, details, headers={"Retry-After": "1"})(scope, receive, send)
            return
        rest = urlencode([(k, v) for k, v in params if k != AS_OF_PARAM])
        inner = dict(scope, query_string=rest.encode("latin-1"), app=build.app)
        await build.app(inner, receive, send)


def install_as_of(app: FastAPI, spec: ServiceSpec) -> AsOfReads:
    """Serve `?as_of=N` on `app`; the caller closes the returned reads at shutdown."""
    reads = AsOfReads(spec)
    app.add_middleware(AsOfMiddleware, reads=reads)
    return reads
