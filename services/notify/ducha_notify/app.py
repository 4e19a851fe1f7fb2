"""Wiring of the notify service: its projections, routes and background work.

Department event streams, reminders and escalations, digests and bulletins.
"""

from __future__ import annotations

from fastapi import FastAPI

from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="notify",
        title="Ducha notify (通知与通报)",
        default_port=8104,
        description="Department event streams, reminders and escalations, digests and bulletins.",
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
