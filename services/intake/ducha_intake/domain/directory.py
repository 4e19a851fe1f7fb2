"""Directory aggregates: inspected units (被督查单位), helper departments (市直相关单位), persons."""

from __future__ import annotations

from ducha.contracts.base import DomainEvent, Role
from ducha.contracts.intake import (
    HelperDepartmentRegistered,
    PersonRegistered,
    UnitRegistered,
    UnitUpdated,
)
from ducha.kernel.aggregate import AggregateState, applies
from ducha.kernel.errors import Conflict, InvalidCommand, NotFound


class UnitState(AggregateState):
    name = ""
    kind = ""
    parent_id: str | None = None

    @applies(UnitRegistered, UnitUpdated)
    def _registered(self, event: UnitRegistered | UnitUpdated) -> None:
        self.name, self.kind, self.parent_id = event.name, event.kind.value, event.parent_id


class HelperState(AggregateState):
    name = ""

    @applies(HelperDepartmentRegistered)
    def _registered(self, event: HelperDepartmentRegistered) -> None:
        self.name = event.name


class PersonState(AggregateState):
    name = ""
    role: Role | None = None
    org_id: str | None = None
    title = ""

    @applies(PersonRegistered)
    def _registered(self, event: PersonRegistered) -> None:
        self.name, self.role, self.org_id, self.title = event.name, event.role, event.org_id, event.title


def register_unit(unit: UnitState, event: UnitRegistered, parent: UnitState | None) -> list[DomainEvent]:
    if unit.exists:
        raise Conflict(f"unit {unit.id} is already registered (单位编码已存在: {unit.name})")
    _check_parent(unit.id, event.parent_id, parent)
    return [event]


def update_unit(unit: UnitState, event: UnitUpdated, parent: UnitState | None) -> list[DomainEvent]:
    if not unit.exists:
        raise NotFound(f"no unit {unit.id} (单位不存在)")
    _check_parent(unit.id, event.parent_id, parent)
    return [event]


def _check_parent(unit_id: str, parent_id: str | None, parent: UnitState | None) -> None:
    if parent_id is None:
        return
    if parent_id == unit_id:
        raise InvalidCommand("a unit cannot be its own parent (上级单位不能是自身)", field="parent_id")
    if parent is None or not parent.exists:
        raise InvalidCommand(f"parent unit {parent_id} is not registered (上级单位不存在)", field="parent_id")


def register_helper(helper: HelperState, event: HelperDepartmentRegistered) -> list[DomainEvent]:
    if helper.exists:
        raise Conflict(f"helper department {helper.id} is already registered (部门编码已存在: {helper.name})")
    return [event]


def register_person(
    person: PersonState,
    event: PersonRegistered,
    org_unit: UnitState | None,
    org_helper: HelperState | None,
) -> list[DomainEvent]:
    if person.exists:
        raise Conflict(f"person {person.id} is already registered (人员编号已存在: {person.name})")
    if event.role in (Role.UNIT, Role.HELPER) and not event.org_id:
        raise InvalidCommand(f"a person with role '{event.role.value}' needs org_id (所属单位)", field="org_id")
    if event.role == Role.SYSTEM:
        raise InvalidCommand("the system role is not for persons", field="role")
    if event.org_id is not None:
        if event.role == Role.HELPER and not (org_helper and org_helper.exists):
            raise InvalidCommand(f"helper department {event.org_id} is not registered (所属部门不存在)",
                                 field="org_id")
        if event.role != Role.HELPER and not (org_unit and org_unit.exists) and not (
            org_helper and org_helper.exists
        ):
            raise InvalidCommand(f"unit {event.org_id} is not registered (所属单位不存在)", field="org_id")
    return [event]
