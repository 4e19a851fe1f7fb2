"""Inspection content and plan (督查内容/方案): drafted, approved or returned with reasons, revised."""

from __future__ import annotations

from typing import Any

from ducha.contracts.base import Actor, DomainEvent, Envelope, Role
from ducha.contracts.intake import (
    InspectionContentApproved,
    InspectionContentDrafted,
    InspectionContentReturned,
    InspectionContentRevised,
)
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, Forbidden, InvalidCommand, NotFound

from .rounds import RoundState

PENDING, APPROVED, RETURNED = "pending", "approved", "returned"


class ContentState(AggregateState):
    round_id = ""
    title = ""
    focus_area = ""
    unit_ids: tuple[str, ...] = ()
    team_id: str | None = None
    status = ""
    return_reason = ""
    drafted_by_team: str | None = None

    @applies(InspectionContentDrafted)
    def _drafted(self, event: InspectionContentDrafted, envelope: Envelope[Any]) -> None:
        self.round_id = event.round_id
        self.drafted_by_team = envelope.actor.team_id
        self._revised(event)

    @applies(InspectionContentRevised)
    def _revised(self, event: InspectionContentDrafted | InspectionContentRevised) -> None:
        self.title, self.focus_area = event.title, event.focus_area
        self.unit_ids, self.team_id = tuple(event.unit_ids), event.team_id
        self.status, self.return_reason = PENDING, ""

    @applies(InspectionContentApproved)
    def _approved(self, event: InspectionContentApproved) -> None:
        self.status = APPROVED

    @applies(InspectionContentReturned)
    def _returned(self, event: InspectionContentReturned) -> None:
        self.status, self.return_reason = RETURNED, event.reason

    def require(self) -> ContentState:
        if not self.exists:
            raise NotFound(f"no inspection content {self.id} (督查内容不存在)")
        return self


def check_draft(
    actor: Actor,
    round_: RoundState,
    team_round_id: str | None,
    focus_area: str,
    unit_ids: tuple[str, ...],
    team_id: str | None,
    known_units: set[str],
) -> None:
    """Rules shared by drafting and revising."""
    opened = round_.require_open()
    if actor.role == Role.TEAM:
        if team_id != actor.team_id:
            raise Forbidden("a team drafts content only for itself (只能为本组起草督查内容)")
        if team_round_id != round_.id:
            raise Forbidden(f"team {actor.team_id} does not work in round {round_.id} (本组不属于该轮次)")
    elif team_id is not None and team_round_id != round_.id:
        raise InvalidCommand(f"team {team_id} is not a team of round {round_.id} (督查组不属于该轮次)",
                             field="team_id")
    if focus_area not in opened.focus_areas:
        raise InvalidCommand(
            f"focus_area {focus_area!r} is not a focus area of the round ({'、'.join(opened.focus_areas)})",
            field="focus_area",
        )
    unknown = [u for u in unit_ids if u not in known_units]
    if unknown:
        raise InvalidCommand(f"units not registered (单位不存在): {', '.join(unknown)}", field="unit_ids")
    if len(set(unit_ids)) != len(unit_ids):
        raise InvalidCommand("unit_ids lists a unit twice (单位重复)", field="unit_ids")


def draft(content: ContentState, event: InspectionContentDrafted) -> list[DomainEvent]:
    if content.exists:
        raise Conflict(f"inspection content {content.id} exists already")
    return [event]


def check_may_edit(actor: Actor, content: ContentState) -> None:
    content.require()
    if actor.role == Role.TEAM and actor.team_id not in (content.team_id, content.drafted_by_team):
        raise Forbidden("this inspection content belongs to another team (非本组督查内容)")


def revise(actor: Actor, content: ContentState, event: InspectionContentRevised) -> list[DomainEvent]:
    check_may_edit(actor, content)
    if content.status == APPROVED:
        raise Conflict("approved inspection content cannot be revised (已审批的督查内容不能修改)")
    return [event]


def approve(content: ContentState, round_: RoundState, note: str) -> list[DomainEvent]:
    content.require()
    round_.require_open()
    if content.status != PENDING:
        raise Conflict(f"inspection content is {content.status}, not pending approval (不在待审批状态)")
    return [InspectionContentApproved(note=note)]


def return_(content: ContentState, reason: str) -> list[DomainEvent]:
    content.require()
    if content.status != PENDING:
        raise Conflict(f"inspection content is {content.status}, not pending approval (不在待审批状态)")
    return [InspectionContentReturned(reason=reason)]
