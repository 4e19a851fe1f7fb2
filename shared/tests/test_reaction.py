"""Reactions turn events into commands once, across restarts and with two instances."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from ducha.contracts import Actor, DomainEvent, Envelope, Role
from ducha.kernel.clock import derived_id
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import EventStore
from ducha.kernel.reaction import Reaction, ReactionRunner
from ducha.kernel.subjects import AggregateKey, event_type_filter
from ducha.testing.sample import CounterIncremented, CounterOpened
from sqlalchemy import Engine

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)
SYSTEM = Actor(id="system", name="系统", role=Role.SYSTEM)
TALLY = AggregateKey("kt", "counter", "tally", "U0")


class CountOpenings(Reaction):
    name = "count_openings"
    subjects = (event_type_filter("CounterOpened", "kt"),)

    async def react(self, kernel: Any, event: Envelope[DomainEvent]) -> None:
        if event.aggregate_id == "tally":
            return
        await kernel.commands.run(
            TALLY,
            CommandContext(SYSTEM, derived_id(self.name, str(event.event_id)), causation_id=str(event.event_id)),
            lambda _l: [CounterIncremented(by=1)],
        )


def kernel_for(store: EventStore, engine: Engine) -> Any:
    return SimpleNamespace(store=store, engine=engine, spec=SimpleNamespace(name="kt"), commands=CommandRunner(store))


async def tally(store: EventStore) -> int:
    return sum(e.payload.by for e in (await store.load(TALLY)).events if isinstance(e.payload, CounterIncremented))


async def wait_tally(store: EventStore, expected: int) -> int:
    for _ in range(100):
        if await tally(store) >= expected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # would a duplicate show up?
    return await tally(store)


async def test_reaction_issues_each_command_once_across_restart_and_two_instances(
    store: EventStore, engine: Engine
) -> None:
    runner = CommandRunner(store)
    for i in range(5):
        await runner.run(AggregateKey("kt", "counter", f"x{i}", "U1"), CommandContext(OFFICE, f"open-x-{i:04d}"),
                         lambda _l: [CounterOpened(title="甲")])
    a = ReactionRunner(kernel_for(store, engine), CountOpenings(), retry_delay=0.05)
    b = ReactionRunner(kernel_for(EventStore(store._nc, store.registry), engine), CountOpenings(), retry_delay=0.05)
    await a.start()
    await b.start()
    assert await wait_tally(store, 5) == 5
    await a.stop()
    await b.stop()
    for i in range(5, 8):
        await runner.run(AggregateKey("kt", "counter", f"x{i}", "U1"), CommandContext(OFFICE, f"open-x-{i:04d}"),
                         lambda _l: [CounterOpened(title="乙")])
    again = ReactionRunner(kernel_for(store, engine), CountOpenings(), retry_delay=0.05)
    await again.start()
    try:
        assert await wait_tally(store, 8) == 8
    finally:
        await again.stop()
    causes = [e.causation_id for e in (await store.load(TALLY)).events]
    assert len(set(causes)) == 8
