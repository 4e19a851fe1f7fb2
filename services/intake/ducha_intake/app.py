"""Wiring of the intake service: its projections, routes and background work.

Rounds, approved inspection content, teams, the directory of units, and problems reported and fed back.
"""

from __future__ import annotations

from ducha.kernel.projection import Projection
from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import APIRouter, FastAPI

from .api import directory, planning, problems
from .read.projection import IntakeProjection


def _projections() -> list[Projection]:
    return [IntakeProjection()]


def _routers() -> list[APIRouter]:
    return [directory.router, planning.rounds, planning.contents, planning.teams, problems.problems,
            problems.suggestions]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="intake",
        title="Ducha intake (问题受理)",
        default_port=8101,
        start_order=10,  # `ducha run`: the event flow
        description="Rounds, approved inspection content, teams, the directory of units, and problems reported and fed back.",
        projections=_projections,
        routers=_routers,
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
