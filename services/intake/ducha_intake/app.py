"""Wiring of the intake service: its projections, routes and background work.

Rounds, approved inspection content, teams, the directory of units, and problems reported and fed back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ducha.audit.api import audit_router
from ducha.audit.checkpoint import checkpoint_job
from ducha.audit.office import integrity_router, verification_job
from ducha.kernel.projection import Projection
from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import APIRouter, FastAPI

from .api import directory, planning, problems
from .projection import IntakeProjection
from .queries import assigned_units


def _projections() -> list[Projection]:
    return [IntakeProjection()]


async def _team_units(kernel: Any, team_id: str) -> set[str]:
    return await asyncio.to_thread(assigned_units, kernel.engine, team_id)


def _routers() -> list[APIRouter]:
    # The audit timeline (all contexts, read from the log) is served here: every role knows intake.
    return [directory.router, planning.rounds, planning.contents, planning.teams, problems.problems,
            problems.suggestions, audit_router(_team_units), integrity_router()]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="intake",
        title="Ducha intake (问题受理)",
        default_port=8101,
        description="Rounds, approved inspection content, teams, the directory of units, and problems reported and fed back.",
        projections=_projections,
        routers=_routers,
        # Tamper evidence: checkpoints of the whole log (idempotent, so every instance may run it)
        # and the scheduled (nightly) verification, recorded in DUCHA_AUDIT (docs/audit.md).
        background=[checkpoint_job, verification_job],
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
