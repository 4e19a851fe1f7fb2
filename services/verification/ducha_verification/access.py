"""Read rules: a unit reads only its own results, a team only its own team's, the office and
cadre supervision everything. Other roles read nothing here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ducha.contracts import Actor, Role
from ducha.kernel.errors import Forbidden
from sqlalchemy import Table


@dataclass(frozen=True, slots=True)
class Scope:
    unit_id: str | None = None
    team_id: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        if actor.role in (Role.OFFICE, Role.CADRE):
            return cls()
        if actor.role == Role.UNIT:
            return cls(unit_id=actor.unit_id)
        if actor.role == Role.TEAM:
            return cls(team_id=actor.team_id)
        raise Forbidden(f"role '{actor.role.value}' may not read verification results")

    @property
    def everything(self) -> bool:
        return self.unit_id is None and self.team_id is None

    def allows(self, unit_id: str | None, team_id: str | None) -> bool:
        if self.unit_id is not None and unit_id != self.unit_id:
            return False
        return self.team_id is None or team_id == self.team_id

    def where(self, table: Table) -> list[Any]:
        """Conditions limiting `table` (with unit_id and team_id columns) to this scope."""
        out = []
        if self.unit_id is not None:
            out.append(table.c.unit_id == self.unit_id)
        if self.team_id is not None:
            out.append(table.c.team_id == self.team_id)
        return out
