"""Wiring of the verification service: its settings, projection and routes (the one bootstrap place).

Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.
"""

from __future__ import annotations

from collections.abc import Sequence

from ducha.kernel.projection import Projection
from ducha.kernel.runtime import Kernel, ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import APIRouter, FastAPI

from .settings import VerificationSettings


def _projections() -> Sequence[Projection]:
    from .read.projection import VerificationProjection

    return (VerificationProjection(),)


def _routers() -> Sequence[APIRouter]:
    from .api import decisions, office, queries, review, writeoff

    return (review.router, writeoff.router, office.router, decisions.router, queries.router)


def spec(settings: VerificationSettings | None = None) -> ServiceSpec:
    """The service; `settings` default to the environment's (DUCHA_VERIFICATION_*), read here, once."""
    from .api.common import SETTINGS

    chosen = settings or VerificationSettings()

    async def startup(kernel: Kernel) -> None:
        kernel.extras[SETTINGS] = chosen

    return ServiceSpec(
        name="verification",
        title="Ducha verification (审核验收与销号)",
        default_port=8103,
        start_order=30,  # `ducha run`: the event flow
        description="Review and acceptance, the write-off ledger, revisits, spot checks, re-checks and accountability.",
        projections=_projections,
        routers=_routers,
        startup=startup,
    )


def create_app(settings: VerificationSettings | None = None) -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests."""
    return create_service_app(spec(settings))
