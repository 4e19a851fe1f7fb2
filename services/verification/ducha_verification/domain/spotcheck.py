"""Spot checks (抽查): the office draws a random sample of a round's written-off problems (or of
its claimed achievements: every accepted rectification) and records on-site findings for each.

Reproducible: the population is the sorted list of problem ids and the sample is
`random.Random(seed).sample(population, k)`; both and the seed are in SpotCheckDrawn, so anyone can
draw again and get the same sample."""

from __future__ import annotations

import random
from collections.abc import Sequence
from enum import StrEnum

from ducha.contracts import Actor, DomainEvent, Role
from ducha.contracts.common import EvidenceRef
from ducha.contracts.verification import SpotCheckDrawn, SpotCheckFindingRecorded
from ducha.kernel.aggregate import AggregateState, LoadedAggregate, applies
from ducha.kernel.errors import Conflict, Forbidden, InvalidCommand

MAX_SEED = 2**63 - 1


class Population(StrEnum):
    WRITTEN_OFF = "written_off"  # problems whose write-off stands
    ACHIEVEMENTS = "achievements"  # every problem with an accepted rectification (claimed results)


def draw(population: Sequence[str], sample_size: int, seed: int) -> tuple[str, ...]:
    """The sample for a seed; the population is sorted first, so its order never matters."""
    ordered = sorted(set(population))
    return tuple(random.Random(seed).sample(ordered, min(sample_size, len(ordered))))


def seed_from(command_id: str) -> int:
    """A seed when none is given, derived from the command id (a retry draws the same sample)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(command_id.encode()).digest()[:7], "big")


def require_office(actor: Actor, doing: str) -> None:
    if actor.role != Role.OFFICE:
        raise Forbidden(f"only the office (领导小组办公室) may {doing}")


class SpotCheckState(AggregateState):
    def __init__(self) -> None:
        self.drawn: SpotCheckDrawn | None = None
        self.findings: dict[str, SpotCheckFindingRecorded] = {}

    @applies(SpotCheckDrawn)
    def _drawn(self, p: SpotCheckDrawn) -> None:
        self.drawn = p

    @applies(SpotCheckFindingRecorded)
    def _finding(self, p: SpotCheckFindingRecorded) -> None:
        self.findings[p.problem_id] = p


def decide_draw(
    loaded: LoadedAggregate, actor: Actor, round_id: str, population: Population,
    population_ids: Sequence[str], sample_size: int, seed: int,
) -> Sequence[DomainEvent]:
    require_office(actor, "draw a spot check")
    if SpotCheckState.of(loaded).drawn is not None:
        raise Conflict("this spot check was drawn already")
    if not 0 <= seed <= MAX_SEED:
        raise InvalidCommand(f"seed must be between 0 and {MAX_SEED}", field="seed")
    if sample_size < 1:
        raise InvalidCommand("sample_size must be at least 1", field="sample_size")
    ordered = tuple(sorted(set(population_ids)))
    if not ordered:
        raise Conflict(f"round {round_id} has no {population.value} problems to sample")
    selected = draw(ordered, sample_size, seed)
    return [SpotCheckDrawn(round_id=round_id, population=population.value, population_ids=ordered,
                           sample_size=len(selected), seed=seed, selected_ids=selected)]


def decide_finding(
    loaded: LoadedAggregate, actor: Actor, problem_id: str, confirmed: bool, findings: str,
    evidence: tuple[EvidenceRef, ...] = (),
) -> Sequence[DomainEvent]:
    require_office(actor, "record spot-check findings")
    state = SpotCheckState.of(loaded)
    if state.drawn is None:
        raise Conflict("no such spot check")
    if problem_id not in state.drawn.selected_ids:
        raise Conflict(f"problem {problem_id} is not in this spot check's sample", )
    if problem_id in state.findings:
        raise Conflict(f"the finding for {problem_id} is already recorded")
    if not findings.strip():
        raise InvalidCommand("record what was found on site", field="findings")
    return [SpotCheckFindingRecorded(problem_id=problem_id, confirmed=confirmed, findings=findings,
                                     evidence=evidence)]
