"""Run one registered service under uvicorn: `python -m ducha.kernel.serve intake --port 8101`."""

from __future__ import annotations

import argparse
import socket

import uvicorn
from fastapi import FastAPI

from ..cli import service_specs
from .commands import UNACKNOWLEDGED_BUDGET
from .config import ServiceSettings
from .observability import configure_logging
from .service import create_app
from .shutdown import ShutdownGate


class GracefulServer(uvicorn.Server):
    """uvicorn, plus: the moment it begins to stop, the app's shutdown gate starts its drain
    (`ducha.kernel.shutdown`), which answers what cannot finish in the error shape."""

    def __init__(self, config: uvicorn.Config, gate: ShutdownGate, grace_seconds: float) -> None:
        super().__init__(config)
        self.gate = gate
        self.grace_seconds = grace_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.gate.begin(self.grace_seconds)
        await super().shutdown(sockets)


def uvicorn_grace(grace_seconds: float) -> int:
    """uvicorn's own limit, after which it cancels what is left with a plain-text 500: beyond
    ours, so that a request that has begun to append (retries included) can still finish."""
    return int(grace_seconds + UNACKNOWLEDGED_BUDGET + 5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    spec = service_specs()[args.service]
    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = ServiceSettings.for_service(spec.name, spec.default_port, **overrides)
    configure_logging(spec.name, settings.log_level, settings.log_format)
    app: FastAPI = create_app(spec, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.uvicorn_log_level.lower(),
        timeout_graceful_shutdown=uvicorn_grace(settings.shutdown_grace_seconds),
    )
    server = GracefulServer(config, app.state.shutdown_gate, settings.shutdown_grace_seconds)
    server.run()
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run: the app did not start (its error is logged)


if __name__ == "__main__":
    main()
