"""Keys, loading and small helpers shared by the command handlers."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, TypeVar

from ducha.kernel.aggregate import AggregateState
from ducha.kernel.commands import CommandContext
from ducha.kernel.subjects import AggregateKey

from ..domain.directory import UnitState
from ..settings import intake_settings

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

CTX = "intake"
S = TypeVar("S", bound=AggregateState)


def unit_key(unit_id: str) -> AggregateKey:
    return AggregateKey(CTX, "unit", unit_id, unit_id)


def helper_key(helper_id: str) -> AggregateKey:
    return AggregateKey(CTX, "helper", helper_id)


def person_key(person_id: str) -> AggregateKey:
    return AggregateKey(CTX, "person", person_id)


def round_key(round_id: str) -> AggregateKey:
    return AggregateKey(CTX, "round", round_id)


def content_key(content_id: str) -> AggregateKey:
    return AggregateKey(CTX, "content", content_id)


def team_key(team_id: str) -> AggregateKey:
    return AggregateKey(CTX, "team", team_id)


def series_key(round_id: str) -> AggregateKey:
    """The round's 督办编号 series (one number per reported problem, no gaps)."""
    return AggregateKey(CTX, "supervisionseries", round_id)


def problem_key(problem_id: str, unit_id: str) -> AggregateKey:
    return AggregateKey(CTX, "problem", problem_id, unit_id)


def suggestion_key(suggestion_id: str) -> AggregateKey:
    return AggregateKey(CTX, "suggestion", suggestion_id)


async def load(kernel: Kernel, cls: type[S], key: AggregateKey) -> S:
    return cls.of(await kernel.store.load(key))


async def known_units(kernel: Kernel, unit_ids: tuple[str, ...] | list[str]) -> set[str]:
    """The ids among `unit_ids` that are registered units (authoritative: from the log)."""
    found = set()
    for uid in dict.fromkeys(unit_ids):
        if (await load(kernel, UnitState, unit_key(uid))).exists:
            found.add(uid)
    return found


def sub_context(ctx: CommandContext, command_id: str) -> CommandContext:
    """The context of one part of a bulk command (an import row): its own stable command id."""
    return CommandContext(
        actor=ctx.actor, command_id=command_id, correlation_id=ctx.correlation_id,
        causation_id=ctx.causation_id,
    )


def holidays() -> frozenset[date]:
    """Public holidays skipped by working-day deadlines (`DUCHA_INTAKE_HOLIDAYS`, `IntakeSettings`)."""
    return intake_settings().holiday_dates
