"""The disclosure policy's problem scope (`ducha.disclosure.problem_scope`) as SQL conditions.

Each service names the columns of its own problem table; the rule itself stays in the policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_

from ..disclosure import ProblemScope


@dataclass(frozen=True)
class ProblemColumns:
    unit_id: ColumnElement[Any]
    team_id: ColumnElement[Any] | None = None
    # fed back and not withdrawn / duplicate
    disclosed: ColumnElement[bool] | None = None
    # "a helper department with this id is assigned to the problem"
    helper: Callable[[str], ColumnElement[bool]] | None = None
    published: ColumnElement[bool] | None = None
    # "the problem's unit is one the team with this id is assigned to" (the service's own record)
    team_units: Callable[[str], ColumnElement[bool]] | None = None


def problem_conditions(scope: ProblemScope, cols: ProblemColumns) -> list[ColumnElement[bool]]:
    """Conditions (all must hold) limiting a problem query to the scope. A condition the
    service cannot express (no such column) admits nothing: never more than the policy allows."""
    if scope.everything:
        return []
    if scope.nothing:
        return [false()]
    out: list[ColumnElement[bool]] = []
    if scope.team_id is not None or scope.team_units:
        either = []
        if scope.team_id is not None and cols.team_id is not None:
            either.append(cols.team_id == scope.team_id)
        if scope.team_units:
            either.append(cols.unit_id.in_(sorted(scope.team_units)))
        elif scope.team_id is not None and cols.team_units is not None:
            either.append(cols.team_units(scope.team_id))
        out.append(or_(*either) if either else false())
    if scope.unit_id is not None:
        out.append(cols.unit_id == scope.unit_id)
    if scope.helper_id is not None:
        out.append(cols.helper(scope.helper_id) if cols.helper is not None else false())
    if scope.published_only:
        out.append(cols.published if cols.published is not None else false())
    if scope.disclosed_only:
        out.append(cols.disclosed if cols.disclosed is not None else false())
    return out
