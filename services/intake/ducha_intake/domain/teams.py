"""Supervision teams (督查督导组): formed for a round with a leader and members, assigned to units."""

from __future__ import annotations

from ducha.contracts.base import DomainEvent, Role
from ducha.contracts.intake import TeamAssignedToUnits, TeamFormed
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, InvalidCommand, NotFound

from .directory import PersonState
from .rounds import RoundState

TEAM_PERSON_ROLES = (Role.TEAM, Role.OFFICE)


class TeamState(AggregateState):
    round_id = ""
    name = ""
    leader_id = ""
    member_ids: tuple[str, ...] = ()
    unit_ids: tuple[str, ...] = ()

    @applies(TeamFormed)
    def _formed(self, event: TeamFormed) -> None:
        self.round_id, self.name, self.leader_id = event.round_id, event.name, event.leader_id
        self.member_ids = tuple(event.member_ids)

    @applies(TeamAssignedToUnits)
    def _assigned(self, event: TeamAssignedToUnits) -> None:
        self.unit_ids = self.unit_ids + tuple(u for u in event.unit_ids if u not in self.unit_ids)

    def require(self) -> TeamState:
        if not self.exists:
            raise NotFound(f"no team {self.id} (督查组不存在)")
        return self


def form(
    team: TeamState,
    round_: RoundState,
    name: str,
    leader: PersonState,
    members: list[PersonState],
) -> list[DomainEvent]:
    if team.exists:
        raise Conflict(f"team {team.id} exists already")
    round_.require_open()
    for field, person in [("leader_id", leader), *(("member_ids", m) for m in members)]:
        if not person.exists:
            raise InvalidCommand(f"person {person.id} is not registered (人员不存在)", field=field)
        if person.role not in TEAM_PERSON_ROLES:
            raise InvalidCommand(
                f"person {person.id} has role '{person.role}', not team or office (非督查人员)", field=field
            )
    ids = [m.id for m in members]
    if leader.id in ids or len(set(ids)) != len(ids):
        raise InvalidCommand("a person is listed twice (人员重复)", field="member_ids")
    return [
        TeamFormed(
            round_id=round_.id,
            name=name,
            leader_id=leader.id,
            leader_name=leader.name,
            member_ids=tuple(ids),
            member_names=tuple(m.name for m in members),
        )
    ]


def assign(team: TeamState, round_: RoundState, unit_ids: tuple[str, ...], known: set[str]) -> list[DomainEvent]:
    team.require()
    round_.require_open()
    unknown = [u for u in unit_ids if u not in known]
    if unknown:
        raise InvalidCommand(f"units not registered (单位不存在): {', '.join(unknown)}", field="unit_ids")
    new = tuple(dict.fromkeys(u for u in unit_ids if u not in team.unit_ids))
    return [TeamAssignedToUnits(unit_ids=new)] if new else []
