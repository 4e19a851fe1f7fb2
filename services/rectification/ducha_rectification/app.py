"""Wiring of the rectification service: its projections, routes and background work.

Deadlines, progress, dispatch check-ins, reminders, help, extensions, overdue warnings and submission.
"""

from __future__ import annotations

from ducha.kernel.runtime import Kernel
from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import FastAPI

from .api import commands, queries
from .jobs import warning_scan
from .reactions import ReopenOnRejectionOrRebound
from .read.projection import RectificationProjection
from .settings import KEY, RectificationSettings


def spec(settings: RectificationSettings | None = None) -> ServiceSpec:
    """The service; its settings are read from the environment here (at app creation) unless given."""
    chosen = settings or RectificationSettings()

    async def startup(kernel: Kernel) -> None:
        kernel.extras[KEY] = chosen

    return ServiceSpec(
        name="rectification",
        title="Ducha rectification (整改)",
        default_port=8102,
        start_order=20,  # `ducha run`: the event flow
        description="Deadlines, progress, dispatch check-ins, reminders, help, extensions, overdue warnings and submission.",
        projections=lambda: (RectificationProjection(),),
        routers=lambda: (commands.router, queries.router),
        reactions=lambda: (ReopenOnRejectionOrRebound(),),
        background=(warning_scan,),
        startup=startup,
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
