"""Run one registered service under uvicorn: `python -m ducha.kernel.serve intake --port 8101`."""

from __future__ import annotations

import argparse
import os

import uvicorn

from ..cli import service_specs
from .config import ServiceSettings
from .observability import configure_logging
from .service import create_app


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
    app = create_app(spec, settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("DUCHA_UVICORN_LOG_LEVEL", "warning"),
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
