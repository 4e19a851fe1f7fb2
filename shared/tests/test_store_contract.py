"""What every event store promises, run against the in-memory store and against NATS JetStream:
one test case, two implementations (`ducha.kernel.eventstore.EventLog`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from ducha.contracts import Actor, DomainEvent, Envelope, Role
from ducha.contracts.base import event_hash
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.eventstore import ConcurrencyConflict, DuplicateAppend, EventLog, EventStore
from ducha.kernel.subjects import AggregateKey, context_filter
from ducha.testing.memory import MemoryEventStore, subject_matches
from ducha.testing.sample import CounterIncremented, CounterOpened, CounterState, test_registry

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)
A = AggregateKey("kt", "counter", "a", "U1")
B = AggregateKey("kt", "counter", "b", "U2")


def env(key: AggregateKey, payload: DomainEvent, command_id: str, version: int = 1) -> Envelope[DomainEvent]:
    return Envelope[DomainEvent](
        event_id=uuid.uuid4(), event_type=payload.event_type, schema_version=payload.schema_version,
        context=key.context, aggregate_type=key.aggregate_type, aggregate_id=key.aggregate_id,
        aggregate_version=version, unit_id=key.unit_id, actor=OFFICE, occurred_at=datetime.now(UTC),
        command_id=command_id, correlation_id=command_id, payload=payload,
    )


class StoreContract:
    """Subclasses provide the `log` fixture."""

    async def test_append_then_load_in_order_with_sequences_and_hash(self, log: EventLog) -> None:
        first = await log.append(A, [env(A, CounterOpened(title="甲"), "cmd-open-a")], 0)
        assert (first.first_sequence, first.last_sequence, first.duplicate) == (1, 1, False)
        two = [env(A, CounterIncremented(by=2), "cmd-inc-a", 2), env(A, CounterIncremented(by=3), "cmd-inc-a", 3)]
        second = await log.append(A, two, 1)
        assert (second.first_sequence, second.last_sequence) == (2, 3)
        loaded = await log.load(A)
        assert [e.sequence for e in loaded.events] == [1, 2, 3]
        assert loaded.last_sequence == 3 and loaded.version == 3
        assert loaded.last_hash == event_hash(loaded.events[-1].to_wire_json())
        assert CounterState.of(loaded).total == 5
        assert await log.last_sequence() == 3

    async def test_a_stale_expected_sequence_is_a_conflict_and_stores_nothing(self, log: EventLog) -> None:
        await log.append(A, [env(A, CounterOpened(title="甲"), "cmd-open-a")], 0)
        with pytest.raises(ConcurrencyConflict) as caught:
            await log.append(A, [env(A, CounterIncremented(by=1), "cmd-late-1", 2)], 0)
        assert caught.value.actual == 1
        with pytest.raises(ConcurrencyConflict):  # a batch too: all or none
            await log.append(A, [env(A, CounterIncremented(by=1), "cmd-late-2", 2),
                                 env(A, CounterIncremented(by=1), "cmd-late-2", 3)], 0)
        assert await log.last_sequence() == 1
        # Another aggregate's sequence does not count.
        assert (await log.append(B, [env(B, CounterOpened(title="乙"), "cmd-open-b")], 0)).last_sequence == 2

    async def test_a_resent_append_is_not_stored_twice(self, log: EventLog) -> None:
        once = [env(A, CounterOpened(title="甲"), "cmd-open-a")]
        await log.append(A, once, 0)
        with pytest.raises(ConcurrencyConflict):  # the sequence is checked before the message id
            await log.append(A, once, 0)
        again = await log.append(A, once, 1)
        assert again.duplicate and again.last_sequence == 1
        batch = [env(B, CounterOpened(title="乙"), "cmd-b"), env(B, CounterIncremented(by=1), "cmd-b", 2)]
        await log.append(B, batch, 0)
        with pytest.raises(DuplicateAppend):
            await log.append(B, batch, 3)
        assert await log.last_sequence() == 3

    async def test_multi_aggregate_append_is_atomic(self, log: EventLog) -> None:
        await log.append(A, [env(A, CounterOpened(title="甲"), "cmd-open-a")], 0)
        stale = [(A, [env(A, CounterIncremented(by=1), "cmd-multi-1", 2)], 0),
                 (B, [env(B, CounterOpened(title="乙"), "cmd-multi-1")], 0)]
        with pytest.raises(ConcurrencyConflict):
            await log.append_multi(stale)
        assert await log.last_sequence() == 1 and (await log.load(B)).events == ()
        fresh = [(A, [env(A, CounterIncremented(by=1), "cmd-multi-2", 2)], 1),
                 (B, [env(B, CounterOpened(title="乙"), "cmd-multi-2")], 0)]
        result = await log.append_multi(fresh)
        assert (result.first_sequence, result.last_sequence) == (2, 3)
        assert [e.sequence for e in (await log.load(B)).events] == [3]
        loaded_a = await log.load(A)
        assert [e.sequence for e in loaded_a.events] == [1, 2] and loaded_a.version == 2
        assert loaded_a.last_hash == event_hash(loaded_a.events[-1].to_wire_json())
        # the next multi append decides on what the first one left (the NATS store from its cache)
        again = [(A, [env(A, CounterIncremented(by=5), "cmd-multi-3", 3)], loaded_a.last_sequence),
                 (B, [env(B, CounterIncremented(by=1), "cmd-multi-3", 2)], 3)]
        assert (await log.append_multi(again)).last_sequence == 5
        assert CounterState.of(await log.load(A)).total == 6
        assert [e.sequence for e in (await log.load(B)).events] == [3, 5]

    async def test_reading_by_filter_position_and_unit(self, log: EventLog) -> None:
        await log.append(A, [env(A, CounterOpened(title="甲"), "cmd-open-a")], 0)
        await log.append(B, [env(B, CounterOpened(title="乙"), "cmd-open-b")], 0)
        await log.append(A, [env(A, CounterIncremented(by=4), "cmd-inc-a", 2)], 1)
        assert await log.find_unit("kt", "counter", "b") == "U2"
        assert await log.find_unit("kt", "counter", "nobody") is None
        assert await log.next_sequence_matching(A.filter, 1) == 3
        assert await log.next_sequence_matching(A.filter, 3) is None
        everything = [seq async for seq, _subject, _data in log.read_all()]
        assert everything == [1, 2, 3]
        assert [seq async for seq, _s, _d in log.read_all(after=1, filters=(A.filter,))] == [3]
        assert [seq async for seq, _s, _d in log.read_all(filters=(context_filter("kt"),), until=2)] == [1, 2]
        assert [e.sequence async for e in log.read_subject(A.filter, after=1)] == [3]
        subject, data = await log.get_raw(2)
        assert subject == B.subject("CounterOpened") and log.decode(data, 2).aggregate_id == "b"

    async def test_commands_over_the_store_are_idempotent(self, log: EventLog) -> None:
        runner = CommandRunner(log)
        ctx = CommandContext(OFFICE, "cmd-open-once")
        first = await runner.run(A, ctx, lambda _l: [CounterOpened(title="甲")])
        again = await runner.run(A, ctx, lambda _l: [CounterOpened(title="甲")])
        assert not first.replayed and again.replayed and again.last_sequence == first.last_sequence
        inc = await runner.run(A, CommandContext(OFFICE, "cmd-inc-once"),
                               lambda loaded: [CounterIncremented(by=CounterState.of(loaded).total + 1)])
        assert inc.last_sequence == 2 and await log.last_sequence() == 2


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def log(self) -> EventLog:
        return MemoryEventStore(test_registry)


class TestNatsStore(StoreContract):
    @pytest.fixture
    def log(self, store: EventStore) -> EventLog:
        return store


def test_subject_matching_follows_nats() -> None:
    assert subject_matches("ducha.ev.kt.U1.counter.a.X", "ducha.ev.kt.*.counter.a.*")
    assert subject_matches("ducha.ev.kt.U1.counter.a.X", "ducha.ev.>")
    assert not subject_matches("ducha.ev", "ducha.ev.>")
    assert not subject_matches("ducha.ev.kt.U1.counter.ab.X", "ducha.ev.kt.*.counter.a.*")
    assert not subject_matches("ducha.ev.kt.U1.counter.a.X.Y", "ducha.ev.kt.*.counter.a.*")
