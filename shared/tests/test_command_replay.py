"""A resent command returns the stored result of its first run: all of it, only to the actor scope
that sent it, and a key re-used for another command is refused without writing anything."""

from __future__ import annotations

import asyncio

import pytest
from ducha.contracts import Actor, Role
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.errors import Conflict
from ducha.kernel.eventstore import EventStore, LoadedAggregate
from ducha.kernel.http import scoped_command_id
from ducha.kernel.subjects import AggregateKey
from ducha.testing.sample import CounterIncremented, CounterOpened

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)
UNIT1 = Actor(id="u1", name="城关区", role=Role.UNIT, unit_id="U1")
UNIT2 = Actor(id="u2", name="七里河区", role=Role.UNIT, unit_id="U2")


def key(i: str, unit: str = "U1") -> AggregateKey:
    return AggregateKey("kt", "counter", i, unit)


async def test_a_resend_that_sees_half_of_a_two_aggregate_command_replays_all_of_it(store: EventStore) -> None:
    """The write-off 500 (issue 19): the resend read the ledger before the first send's batch landed
    and the problem after it, and answered with the problem's event alone."""
    runner = CommandRunner(store)
    ledger, item = key("ledger", "U0"), key("item")
    await runner.run(ledger, CommandContext(OFFICE, "open-ledger-1"), lambda _l: [CounterOpened(title="台账")])
    ctx = CommandContext(OFFICE, "write-off-0001")

    def decide(_loaded: dict[AggregateKey, LoadedAggregate]) -> dict[AggregateKey, list[CounterIncremented]]:
        return {ledger: [CounterIncremented(by=1)], item: [CounterIncremented(by=2)]}

    at_gate, first_done = asyncio.Event(), asyncio.Event()
    real_load = store.load
    gated = False

    async def load(k: AggregateKey) -> LoadedAggregate:
        nonlocal gated
        if k == item and not gated:  # the resend, between its two loads
            gated = True
            at_gate.set()
            await first_done.wait()
        return await real_load(k)

    store.load = load  # type: ignore[method-assign]
    # The resend comes from another process (instance): its own runner, so no in-process turn
    # orders the two sends; only the log does.
    other_instance = CommandRunner(store)
    resend = asyncio.create_task(other_instance.run_multi([ledger, item], ctx, decide))
    await asyncio.wait_for(at_gate.wait(), 10)
    first = await runner.run_multi([ledger, item], ctx, decide)
    first_done.set()
    again = await asyncio.wait_for(resend, 10)
    assert not first.replayed and again.replayed
    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert again.last_sequence == first.last_sequence == await store.last_sequence()
    assert again.payload(CounterIncremented).by == 1  # the ledger's line, as the route reads it


async def test_a_key_reused_for_another_aggregate_is_409_and_writes_nothing(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("a"), CommandContext(OFFICE, "same-key-0001"), lambda _l: [CounterOpened(title="甲")])
    before = await store.last_sequence()
    with pytest.raises(Conflict, match="already used for another command"):
        await runner.run(key("b"), CommandContext(OFFICE, "same-key-0001"), lambda _l: [CounterOpened(title="乙")])
    assert await store.last_sequence() == before and (await store.load(key("b"))).version == 0


async def test_a_stored_result_is_not_replayed_to_another_unit(store: EventStore) -> None:
    runner = CommandRunner(store)
    first = await runner.run(key("c"), CommandContext(UNIT1, "unit-key-0001"), lambda _l: [CounterOpened(title="甲")])
    same_unit = Actor(id="u1-colleague", name="城关区同事", role=Role.UNIT, unit_id="U1")
    again = await runner.run(key("c"), CommandContext(same_unit, "unit-key-0001"), lambda _l: [])
    assert again.replayed and again.last_sequence == first.last_sequence
    with pytest.raises(Conflict, match="another actor"):
        await runner.run(key("c"), CommandContext(UNIT2, "unit-key-0001"), lambda _l: [CounterIncremented(by=1)])
    assert await store.last_sequence() == first.last_sequence


def test_an_idempotency_key_counts_per_scope_and_command() -> None:
    base = scoped_command_id(UNIT1, "POST", "/v1/webhooks", "client-key-1")
    assert base == scoped_command_id(UNIT1.model_copy(update={"id": "u1-b"}), "post", "/v1/webhooks", "client-key-1")
    assert base != scoped_command_id(UNIT2, "POST", "/v1/webhooks", "client-key-1")
    assert base != scoped_command_id(UNIT1, "DELETE", "/v1/webhooks", "client-key-1")
    assert base != scoped_command_id(UNIT1, "POST", "/v1/webhooks/x/replay", "client-key-1")
