"""Problems (问题) as reported, corrected and fed back (交办) to the unit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ducha.contracts.base import Actor, DomainEvent, Envelope, Role
from ducha.contracts.common import Severity
from ducha.contracts.intake import (
    IssueAmended,
    IssueFedBack,
    IssueMarkedDuplicate,
    IssueReported,
    IssueWithdrawn,
    RoundOpened,
    SupervisionNumberIssued,
)
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, Forbidden, InvalidCommand, NotFound

from .calendar import add_days, add_working_days, local_date
from .content import APPROVED, ContentState
from .directory import UnitState
from .rounds import RoundState
from .teams import TeamState

REPORTED, FED_BACK, WITHDRAWN, DUPLICATE = "reported", "fed_back", "withdrawn", "duplicate"
STATUSES = (REPORTED, FED_BACK, WITHDRAWN, DUPLICATE)
AMENDABLE = ("title", "description", "category", "severity", "location", "evidence", "publishable",
             "suggested_deadline_days")


class ProblemState(AggregateState):
    reported: IssueReported | None = None
    current: dict[str, Any]
    status = ""
    unit_id: str | None = None

    def __init__(self) -> None:
        self.current = {}

    @applies(IssueReported)
    def _reported(self, event: IssueReported, envelope: Envelope[Any]) -> None:
        self.reported, self.status, self.unit_id = event, REPORTED, envelope.unit_id
        self.current = {name: getattr(event, name) for name in AMENDABLE}

    @applies(IssueAmended)
    def _amended(self, event: IssueAmended) -> None:
        for name in AMENDABLE:
            value = getattr(event, name)
            if value is not None:
                self.current[name] = value

    @applies(IssueFedBack)
    def _fed_back(self, event: IssueFedBack) -> None:
        self.status = FED_BACK

    @applies(IssueWithdrawn)
    def _withdrawn(self, event: IssueWithdrawn) -> None:
        self.status = WITHDRAWN

    @applies(IssueMarkedDuplicate)
    def _duplicate(self, event: IssueMarkedDuplicate) -> None:
        self.status = DUPLICATE

    def require(self) -> IssueReported:
        if self.reported is None:
            raise NotFound(f"no problem {self.id} (问题不存在)")
        return self.reported

    def require_active(self) -> IssueReported:
        reported = self.require()
        if self.status in (WITHDRAWN, DUPLICATE):
            raise Conflict(f"problem {self.id} is {self.status} (问题已撤回或已标记为重复)")
        return reported


@dataclass(frozen=True)
class ReportSetting:
    """The other aggregates the rules of reporting look at, loaded by the handler."""

    actor: Actor
    unit: UnitState
    team: TeamState
    content: ContentState
    round: RoundState
    today: date
    earlier: ProblemState | None = None


def supervision_no(opened: RoundOpened, number: int) -> str:
    """督办编号: the round's year, its number and the problem's place in the round (2026-2-0001)."""
    return f"{opened.starts_on.year}-{opened.number}-{number:04d}"


def report_numbered(problem: ProblemState, event: IssueReported, unit_id: str, s: ReportSetting,
                    series_version: int) -> tuple[list[DomainEvent], list[DomainEvent]]:
    """The report and the round's next 督办编号, for one atomic append over both aggregates."""
    number = series_version + 1
    no = supervision_no(s.round.require(), number)
    events = report(problem, event.model_copy(update={"supervision_no": no}), unit_id, s)
    return events, [SupervisionNumberIssued(number=number, supervision_no=no, problem_id=problem.id)]


def report(problem: ProblemState, event: IssueReported, unit_id: str, s: ReportSetting) -> list[DomainEvent]:
    if problem.exists:
        raise Conflict(f"problem {problem.id} exists already")
    if s.actor.role != Role.TEAM or s.actor.team_id != event.team_id:
        raise Forbidden("only a member of the problem's team reports it (仅本督查组成员可上报问题)")
    s.team.require()
    if not s.unit.exists:
        raise NotFound(f"no unit {unit_id} (单位不存在)")
    content = s.content.require()
    if s.content.team_id is not None and s.content.team_id != s.team.id:
        raise Forbidden("this inspection content belongs to another team (非本组督查内容)")
    if content.round_id != s.team.round_id:
        raise Forbidden(f"team {s.team.id} does not work in round {content.round_id} (本组不属于该轮次)")
    if content.status != APPROVED:
        raise Conflict(f"inspection content {content.id} is not approved (督查内容未经审批)")
    opened = s.round.require_open()
    if unit_id not in s.team.unit_ids:
        raise Forbidden(f"team {s.team.id} is not assigned to unit {unit_id} (本组未分派到该单位)")
    if unit_id not in content.unit_ids:
        raise InvalidCommand(f"unit {unit_id} is not listed in the inspection content (督查内容未列该单位)",
                             field="unit_id")
    _check_category(event.category, s.round)
    if event.found_on > s.today:
        raise InvalidCommand("found_on is in the future (发现日期晚于今天)", field="found_on")
    if event.repeat_of is not None:
        _check_repeat(event, unit_id, opened.look_back_of, s.earlier)
    elif event.repeat_of_unit_id is not None:
        raise InvalidCommand("repeat_of_unit_id without repeat_of", field="repeat_of_unit_id")
    return [event]


def _check_category(category: str, round_: RoundState) -> None:
    opened = round_.require()
    if category not in opened.focus_areas:
        raise InvalidCommand(
            f"category {category!r} is not a focus area of the round (类别须为本轮重点领域: "
            f"{'、'.join(opened.focus_areas)})",
            field="category",
        )


def _check_repeat(event: IssueReported, unit_id: str, base_round: str | None, earlier: ProblemState | None) -> None:
    if base_round is None:
        raise InvalidCommand("repeat_of is only for a look-back round (仅回头看轮次可关联前轮问题)",
                             field="repeat_of")
    if event.repeat_of_unit_id not in (None, unit_id):
        raise InvalidCommand("the earlier problem must be of the same unit (前轮问题须为同一单位)",
                             field="repeat_of_unit_id")
    if earlier is None or earlier.reported is None:
        raise NotFound(f"no earlier problem {event.repeat_of} at unit {unit_id} (前轮问题不存在)")
    if earlier.reported.round_id != base_round:
        raise InvalidCommand(
            f"problem {event.repeat_of} is not from round {base_round}, the round this one looks back on "
            "(前轮问题不属于回头看的轮次)",
            field="repeat_of",
        )


def _check_team(actor: Actor, reported: IssueReported, office_too: bool) -> None:
    if actor.role == Role.TEAM and actor.team_id == reported.team_id:
        return
    if office_too and actor.role == Role.OFFICE:
        return
    who = "the problem's team or the office" if office_too else "the problem's team"
    raise Forbidden(f"only {who} may do this (仅{'本督查组或领导小组办公室' if office_too else '本督查组'}可操作)")


def amend(actor: Actor, problem: ProblemState, round_: RoundState, event: IssueAmended) -> list[DomainEvent]:
    reported = problem.require()
    _check_team(actor, reported, office_too=False)
    problem.require_active()
    changes = {n: getattr(event, n) for n in AMENDABLE if getattr(event, n) is not None}
    changes = {n: v for n, v in changes.items() if problem.current.get(n) != v}
    if not changes:
        raise InvalidCommand("the amendment changes nothing (未修改任何内容)", field="reason")
    if "category" in changes:
        _check_category(changes["category"], round_)
    return [IssueAmended(reason=event.reason, **changes)]


def withdraw(actor: Actor, problem: ProblemState, reason: str) -> list[DomainEvent]:
    _check_team(actor, problem.require(), office_too=True)
    problem.require_active()
    return [IssueWithdrawn(reason=reason)]


def mark_duplicate(
    actor: Actor, problem: ProblemState, original: ProblemState, reason: str
) -> list[DomainEvent]:
    _check_team(actor, problem.require(), office_too=True)
    problem.require_active()
    if original.id == problem.id:
        raise InvalidCommand("a problem cannot duplicate itself (不能与自身重复)", field="duplicate_of")
    if original.reported is None:
        raise NotFound(f"no problem {original.id} at the same unit (被重复的问题不存在)")
    if original.status in (WITHDRAWN, DUPLICATE):
        raise Conflict(f"problem {original.id} is {original.status} itself (被重复的问题已撤回或已是重复)")
    return [IssueMarkedDuplicate(duplicate_of=original.id, reason=reason)]


def feed_back(
    actor: Actor,
    problem: ProblemState,
    round_: RoundState,
    now: datetime,
    responsible_person: str,
    responsible_person_title: str = "",
    responsible_person_id: str | None = None,
    requirements: str = "",
    holidays: Iterable[date] = (),
) -> list[DomainEvent]:
    _check_team(actor, problem.require(), office_too=False)
    problem.require_active()
    if problem.status == FED_BACK:
        raise Conflict(f"problem {problem.id} was fed back already (问题已交办)")
    policy = round_.require()
    today = local_date(now)
    days = policy.max_rectification_days
    if problem.current["severity"] == Severity.SEVERE:
        days = policy.severe_max_rectification_days
    suggested = problem.current.get("suggested_deadline_days")
    if suggested is not None and suggested < days:
        days = suggested
    return [
        IssueFedBack(
            responsible_person=responsible_person,
            responsible_person_title=responsible_person_title,
            responsible_person_id=responsible_person_id,
            requirements=requirements,
            commit_deadline_by=add_working_days(today, policy.deadline_commit_days, holidays),
            max_deadline=add_days(today, days),
            fed_back_at=now,
        )
    ]
