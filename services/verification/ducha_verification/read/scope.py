"""Read rules, from the disclosure policy: a unit reads only its own problems once fed back (and
not withdrawn), a team its own and those of the units it is assigned to, the office and cadre
supervision everything. Other roles read nothing here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ducha.contracts import Actor, Role
from ducha.disclosure import ProblemScope, Viewer, problem_scope
from ducha.kernel.errors import Forbidden
from ducha.kernel.scope import ProblemColumns, problem_conditions
from sqlalchemy import Table, and_, or_, select

from .tables import decisions, problems, team_units


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader may see here: the disclosure policy's problem scope (`ducha.disclosure`)."""

    policy: ProblemScope

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        if actor.role not in (Role.OFFICE, Role.CADRE, Role.UNIT, Role.TEAM):
            raise Forbidden(f"role '{actor.role.value}' may not read verification results")
        return cls(problem_scope(Viewer.of(actor)))

    @property
    def everything(self) -> bool:
        return self.policy.everything

    def where(self, table: Table) -> list[Any]:
        """Conditions limiting `table` (with unit_id and team_id columns; problem_id for the
        problem's stage, or `disclosed` for the counters) to this scope."""
        disclosed: Any = None
        if "disclosed" in table.c:  # the statistics' counters (grouped by fed back or not)
            disclosed = table.c.disclosed.is_(True)
        elif table is problems:
            disclosed = and_(problems.c.fed_back_at.is_not(None), problems.c.excluded.is_(False))
        elif "problem_id" in table.c:
            shown = select(problems.c.problem_id).where(problems.c.fed_back_at.is_not(None),
                                                        problems.c.excluded.is_(False))
            disclosed = or_(table.c.problem_id.is_(None), table.c.problem_id.in_(shown))
        cols = ProblemColumns(
            unit_id=table.c.unit_id, team_id=table.c.team_id if "team_id" in table.c else None, disclosed=disclosed,
            team_units=lambda team: table.c.unit_id.in_(select(team_units.c.unit_id).where(team_units.c.team_id == team)))
        out = problem_conditions(self.policy, cols)
        if table is decisions and self.policy.team_id is not None:
            out.append(table.c.problem_id.is_not(None))  # the policy: a team sees decisions on its problems only
        return out
