"""Wiring of the verification service: its projections, routes and background work.

Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.
"""

from __future__ import annotations

from fastapi import FastAPI

from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="verification",
        title="Ducha verification (审核验收与销号)",
        default_port=8103,
        description="Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.",
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
