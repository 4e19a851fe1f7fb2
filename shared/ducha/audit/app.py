"""The audit service (审计): tamper evidence and the audit pages' API, apart from every domain service.

- routes: a problem's timeline across all services (`/v1/audit/problems/<id>/timeline`, the
  disclosure policy's view) and the office's and auditor's integrity pages (`/v1/audit/status`,
  verifications, accesses, exports; `ducha.audit.office`);
- jobs: checkpoints of the whole log and the scheduled (nightly) verification, each run by one
  instance per period however many replicas run (`ducha.audit.jobs`);
- read model: which units each team is assigned to (for what a team may see in a timeline).

Settings: the kernel's (`DUCHA_AUDIT_PORT`, `DUCHA_AUDIT_DATABASE_URL`, ...) and `AuditSettings`
(`DUCHA_AUDIT_KEY`, `DUCHA_AUDIT_CHECKPOINT_SECONDS`, `DUCHA_AUDIT_VERIFY_SECONDS`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, select

from ..contracts.base import DomainEvent, Envelope
from ..contracts.intake import TeamAssignedToUnits
from ..kernel.projection import Projection
from ..kernel.runtime import Kernel
from ..kernel.service import ServiceSpec
from ..kernel.service import create_app as create_service_app
from ..kernel.subjects import event_type_filter
from .api import audit_router
from .checkpoint import checkpoint_job
from .office import integrity_router, verification_job

metadata = MetaData()
team_units = Table(
    "audit_team_units", metadata,
    Column("team_id", String(64), primary_key=True), Column("unit_id", String(64), primary_key=True),
)
_insert = team_units.insert()


class TeamUnitsProjection(Projection):
    """Which units each team is assigned to (TeamAssignedToUnits): a team sees their problems."""

    name = "audit_team_units"
    version = 1
    subjects = (event_type_filter(TeamAssignedToUnits.event_type, "intake"),)
    metadata = metadata

    def apply(self, conn: Connection, event: Envelope[DomainEvent]) -> None:
        self.apply_batch(conn, [event])

    def apply_batch(self, conn: Connection, events: Any) -> None:
        rows = {(e.aggregate_id, u): None for e in events if isinstance(e.payload, TeamAssignedToUnits)
                for u in e.payload.unit_ids}
        if rows:  # assignments only add units; an assignment repeated is the same row
            existing = {(str(t), str(u)) for t, u in conn.execute(
                select(team_units.c.team_id, team_units.c.unit_id).where(
                    team_units.c.team_id.in_({t for t, _u in rows})))}
            fresh = [{"team_id": t, "unit_id": u} for t, u in rows if (t, u) not in existing]
            if fresh:
                conn.execute(_insert, fresh)


def assigned_units(engine: Engine, team_id: str) -> set[str]:
    with engine.connect() as conn:
        return {str(u) for u in conn.execute(select(team_units.c.unit_id).where(team_units.c.team_id == team_id))
                .scalars()}


async def _team_units(kernel: Kernel, team_id: str) -> set[str]:
    return await asyncio.to_thread(assigned_units, kernel.engine, team_id)


def _routers() -> list[APIRouter]:
    return [audit_router(_team_units), integrity_router()]


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="audit",
        title="Ducha audit (审计)",
        default_port=8105,
        start_order=50,  # after the domain services
        description="Tamper evidence of the event log (checkpoints, verification runs, exports), problem "
                    "timelines across all services, and a record of every use of the audit pages.",
        projections=lambda: [TeamUnitsProjection()],
        routers=_routers,
        background=[checkpoint_job, verification_job],
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec())
