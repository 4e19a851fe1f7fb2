"""Facts this service learnt from intake and rectification (read from its projection), handed to
the decide functions as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from ducha.contracts import Actor, Role
from ducha.kernel.errors import Forbidden


@dataclass(frozen=True, slots=True)
class ProblemFacts:
    problem_id: str
    unit_id: str
    round_id: str | None
    team_id: str | None
    severity: str | None
    title: str = ""
    excluded: bool = False  # withdrawn or marked duplicate in intake
    fed_back: bool = False
    latest_submission_no: int = 0  # 0: nothing submitted yet

    @property
    def severe(self) -> bool:
        return self.severity == "severe"


def require_problem_team(actor: Actor, facts: ProblemFacts, doing: str) -> None:
    """Only a member of the problem's own team may review or revisit it."""
    if actor.role != Role.TEAM:
        raise Forbidden(f"only the problem's supervision team may {doing} (you are '{actor.role.value}')")
    if facts.team_id is None or actor.team_id != facts.team_id:
        raise Forbidden(f"only the problem's team ({facts.team_id}) may {doing}; you are in team {actor.team_id}")
