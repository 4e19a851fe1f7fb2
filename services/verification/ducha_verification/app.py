"""Wiring of the verification service: its projections, routes and background work.

Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.
"""

from __future__ import annotations

from collections.abc import Sequence

from ducha.kernel.projection import Projection
from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import APIRouter, FastAPI


def _projections() -> Sequence[Projection]:
    from .projection import VerificationProjection

    return (VerificationProjection(),)


def _routers() -> Sequence[APIRouter]:
    from .api import decisions, office, queries, review, writeoff

    return (review.router, writeoff.router, office.router, decisions.router, queries.router)


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="verification",
        title="Ducha verification (审核验收与销号)",
        default_port=8103,
        start_order=30,  # `ducha run`: the event flow
        description="Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.",
        projections=_projections,
        routers=_routers,
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
