"""The event log: server-checked concurrency, idempotent commands, atomic batches, ordered reads."""

from __future__ import annotations

import asyncio
import json

import nats.js.errors
import pytest
from ducha.contracts import Actor, Role
from ducha.contracts.base import event_hash
from ducha.contracts.registry import MalformedEvent
from ducha.kernel.commands import CommandContext, CommandRunner
from ducha.kernel.errors import Conflict
from ducha.kernel.eventstore import ConcurrencyConflict, EventStore, LoadedAggregate
from ducha.kernel.subjects import EVENT_STREAM, AggregateKey, unit_filter
from ducha.testing.sample import CounterIncremented, CounterOpened, test_registry

OFFICE = Actor(id="o1", name="办公室", role=Role.OFFICE)


def key(i: str, unit: str = "U1") -> AggregateKey:
    return AggregateKey("kt", "counter", i, unit)


def ctx(command_id: str, **kw: object) -> CommandContext:
    return CommandContext(actor=OFFICE, command_id=command_id, **kw)  # type: ignore[arg-type]


def open_counter(title: str = "计数"):  # type: ignore[no-untyped-def]
    def decide(loaded):  # type: ignore[no-untyped-def]
        if loaded.version:
            raise Conflict("already open")
        return [CounterOpened(title=title)]

    return decide


def increment(by: int = 1):  # type: ignore[no-untyped-def]
    return lambda loaded: [CounterIncremented(by=by)]


async def test_stream_is_durable_and_refuses_purge_and_delete(store: EventStore) -> None:
    info = await store.js.stream_info(EVENT_STREAM)
    assert info.config.storage == "file"
    assert info.config.deny_delete and info.config.deny_purge and info.config.allow_atomic
    assert info.config.duplicate_window >= 60
    runner = CommandRunner(store)
    await runner.run(key("a"), ctx("cmd-open-a"), open_counter())
    with pytest.raises(nats.js.errors.APIError):
        await store.js.purge_stream(EVENT_STREAM)
    with pytest.raises(nats.js.errors.APIError):
        await store.js.delete_msg(EVENT_STREAM, 1)
    assert await store.last_sequence() == 1


async def test_concurrent_conflicting_appends_exactly_one_wins(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("c"), ctx("cmd-open-c"), open_counter())
    loaded = await store.load(key("c"))
    contenders = [
        runner._envelopes(key("c"), ctx(f"cmd-race-{i:03d}"), loaded, [CounterIncremented(by=1)])
        for i in range(20)
    ]
    results = await asyncio.gather(
        *(store.append(key("c"), envs, loaded.last_sequence) for envs in contenders),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    conflicts = [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert len(wins) == 1 and len(conflicts) == 19
    assert (await store.load(key("c"))).version == 2


async def test_expected_zero_fails_on_existing_aggregate_with_other_event_type(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("z"), ctx("cmd-open-z"), open_counter())
    envs = runner._envelopes(key("z"), ctx("cmd-other-z"), LoadedAggregate(key("z"), (), 0), [CounterIncremented(by=1)])
    with pytest.raises(ConcurrencyConflict):
        await store.append(key("z"), envs, 0)


async def test_commands_without_if_match_are_redecided_after_a_conflict(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("r"), ctx("cmd-open-r"), open_counter())
    await asyncio.gather(*(runner.run(key("r"), ctx(f"cmd-inc-r-{i:02d}"), increment()) for i in range(10)))
    assert (await store.load(key("r"))).version == 11


async def test_stale_if_match_is_a_conflict(store: EventStore) -> None:
    runner = CommandRunner(store)
    first = await runner.run(key("m"), ctx("cmd-open-m"), open_counter())
    await runner.run(key("m"), ctx("cmd-inc-m-1"), increment())
    with pytest.raises(Conflict):
        await runner.run(key("m"), ctx("cmd-inc-m-2", expected_sequence=first.last_sequence), increment())


async def test_duplicate_command_stores_one_event_and_returns_the_first_result(store: EventStore) -> None:
    runner = CommandRunner(store)
    first = await runner.run(key("d"), ctx("cmd-open-d"), open_counter())
    again = await runner.run(key("d"), ctx("cmd-open-d"), open_counter())
    assert again.replayed and again.last_sequence == first.last_sequence
    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert (await store.load(key("d"))).version == 1


async def test_resent_append_with_stale_sequence_is_recognised_as_the_same_command(store: EventStore) -> None:
    """The server checks the sequence before dedup: the retry gets 'wrong last sequence', and the
    runner must find the command in the aggregate instead of reporting a conflict."""
    runner = CommandRunner(store)
    await runner.run(key("s"), ctx("cmd-open-s"), open_counter())
    loaded = await store.load(key("s"))
    envs = runner._envelopes(key("s"), ctx("cmd-inc-s"), loaded, [CounterIncremented(by=5)])
    await store.append(key("s"), envs, loaded.last_sequence)  # lands, but say the ack was lost
    fresh = EventStore(store._nc, test_registry)  # a new process: no cache
    result = await CommandRunner(fresh).run(key("s"), ctx("cmd-inc-s"), increment(5))
    assert result.replayed
    assert (await fresh.load(key("s"))).version == 2


async def test_duplicate_within_window_without_expectation_is_acknowledged_as_duplicate(store: EventStore) -> None:
    headers = {"Nats-Msg-Id": "same-id"}
    a = await store.js.publish(key("w").subject("CounterOpened"), b"{}", headers=headers)
    b = await store.js.publish(key("w").subject("CounterOpened"), b"{}", headers=headers)
    assert a.seq == b.seq and b.duplicate


async def test_atomic_batch_is_all_or_nothing(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("b"), ctx("cmd-open-b"), open_counter())
    loaded = await store.load(key("b"))
    batch = runner._envelopes(
        key("b"), ctx("cmd-batch-1"), loaded, [CounterIncremented(by=i) for i in range(1, 6)]
    )
    result = await store.append(key("b"), batch, loaded.last_sequence)
    assert result.last_sequence - result.first_sequence == 4
    # A stale batch stores nothing at all, not even its first events.
    stale = runner._envelopes(
        key("b"), ctx("cmd-batch-2"), loaded, [CounterIncremented(by=100) for _ in range(5)]
    )
    before = await store.last_sequence()
    with pytest.raises(ConcurrencyConflict):
        await store.append(key("b"), stale, loaded.last_sequence)
    assert await store.last_sequence() == before
    events = (await store.load(key("b"))).events
    assert [e.payload.by for e in events[1:]] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
    assert [e.aggregate_version for e in events] == [1, 2, 3, 4, 5, 6]


async def test_a_multi_event_command_is_one_atomic_batch(store: EventStore) -> None:
    runner = CommandRunner(store)
    res = await runner.run(
        key("mb"), ctx("cmd-multi-batch"), lambda _l: [CounterOpened(title="甲"), CounterIncremented(by=2)]
    )
    assert len(res.events) == 2
    again = await runner.run(
        key("mb"), ctx("cmd-multi-batch"), lambda _l: [CounterOpened(title="甲"), CounterIncremented(by=2)]
    )
    assert again.replayed and (await store.load(key("mb"))).version == 2


async def test_every_event_names_its_actor_command_and_unit(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("e", "U7"), ctx("cmd-open-e", correlation_id="corr-1"), open_counter("乙"))
    (env,) = (await store.load(key("e", "U7"))).events
    assert env.actor == OFFICE and env.command_id == "cmd-open-e" and env.correlation_id == "corr-1"
    assert env.unit_id == "U7" and env.aggregate_version == 1 and env.sequence == 1
    raw = json.loads((await store.get_raw(1))[1])
    assert raw["event_type"] == "CounterOpened" and raw["schema_version"] == 1


async def test_one_units_events_are_one_subject_filter(store: EventStore) -> None:
    runner = CommandRunner(store)
    await runner.run(key("u1a", "U1"), ctx("cmd-u1a-open"), open_counter())
    await runner.run(key("u2a", "U2"), ctx("cmd-u2a-open"), open_counter())
    await runner.run(key("u1b", "U1"), ctx("cmd-u1b-open"), open_counter())
    seen = [env.aggregate_id async for env in store.read_subject(unit_filter("U1"))]
    assert seen == ["u1a", "u1b"]


async def test_read_all_is_the_whole_log_in_order(store: EventStore) -> None:
    runner = CommandRunner(store)
    for i in range(30):
        await runner.run(key(f"o{i}", f"U{i % 3}"), ctx(f"cmd-o-{i:03d}"), open_counter())
    seqs = [seq async for seq, _s, _d in store.read_all()]
    assert seqs == list(range(1, 31))
    tail = [seq async for seq, _s, _d in store.read_all(after=25)]
    assert tail == [26, 27, 28, 29, 30]


async def test_upcasting_reads_an_old_event_in_the_current_shape(store: EventStore) -> None:
    old = {
        "event_id": "6f1c1b8e-2b8e-4d8b-9a53-0d0c9d1f0a01", "event_type": "CounterIncremented",
        "schema_version": 1, "context": "kt", "aggregate_type": "counter", "aggregate_id": "old",
        "aggregate_version": 1, "unit_id": "U1", "actor": OFFICE.model_dump(mode="json"),
        "occurred_at": "2025-03-01T08:00:00Z", "command_id": "legacy-0001",
        "correlation_id": "legacy-0001", "causation_id": None, "payload": {"amount": 7},
    }
    ack = await store.js.publish(key("old").subject("CounterIncremented"), json.dumps(old).encode())
    (env,) = (await store.load(key("old"))).events
    assert env.payload == CounterIncremented(by=7, note="(v1)") and env.schema_version == 2
    # the stored message is untouched
    assert json.loads((await store.get_raw(ack.seq))[1])["payload"] == {"amount": 7}


def test_registry_rejects_unknown_and_malformed_events_with_a_reason() -> None:
    with pytest.raises(MalformedEvent, match="not a Ducha event envelope"):
        test_registry.decode(b"not json")
    base = {
        "event_id": "6f1c1b8e-2b8e-4d8b-9a53-0d0c9d1f0a01", "event_type": "Nope",
        "schema_version": 1, "context": "kt", "aggregate_type": "counter", "aggregate_id": "x",
        "aggregate_version": 1, "actor": OFFICE.model_dump(mode="json"),
        "occurred_at": "2025-03-01T08:00:00Z", "command_id": "c-000001", "correlation_id": "c",
        "payload": {},
    }
    with pytest.raises(MalformedEvent, match="unknown event type 'Nope'"):
        test_registry.decode(json.dumps(base).encode())
    base |= {"event_type": "CounterOpened", "payload": {"title": 3}}
    with pytest.raises(MalformedEvent, match="invalid CounterOpened payload: title"):
        test_registry.decode(json.dumps(base).encode())
    base |= {"schema_version": 9, "payload": {"title": "x"}}
    with pytest.raises(MalformedEvent, match="newer"):
        test_registry.decode(json.dumps(base).encode())


def test_delivery_tracker_flags_skipped_and_restarted_deliveries() -> None:
    from ducha.kernel.eventstore import DeliveryGap, DeliveryTracker

    t = DeliveryTracker()
    assert t.check("$JS.ACK.DUCHA_EVENTS.c1.1.10.1.1700000000.5") == (10, 5)
    assert t.check("$JS.ACK.DUCHA_EVENTS.c1.1.14.2.1700000000.4") == (14, 4)  # filtered: sseq may jump
    with pytest.raises(DeliveryGap, match="jumped from 2 to 4"):
        t.check("$JS.ACK.DUCHA_EVENTS.c1.1.20.4.1700000000.2")
    t2 = DeliveryTracker()
    t2.check("$JS.ACK.dom.acc.DUCHA_EVENTS.c1.1.3.1.1700000000.0.x")
    with pytest.raises(DeliveryGap, match="consumer changed"):
        t2.check("$JS.ACK.dom.acc.DUCHA_EVENTS.c2.1.9.1.1700000000.0.x")


async def test_one_command_over_two_aggregates_is_atomic_and_checks_both_versions(store: EventStore) -> None:
    runner = CommandRunner(store)
    ledger, item = key("ledger", "U0"), key("item", "U1")
    await runner.run(ledger, ctx("cmd-open-ledger"), open_counter("台账"))

    def decide(loaded):  # type: ignore[no-untyped-def]
        return {ledger: [CounterIncremented(by=1)], item: [CounterOpened(title="条目")]}

    res = await runner.run_multi([ledger, item], ctx("cmd-multi-0001"), decide)
    assert len(res.events) == 2 and res.last_sequence == 3
    again = await runner.run_multi([ledger, item], ctx("cmd-multi-0001"), decide)
    assert again.replayed and await store.last_sequence() == 3
    # a stale expectation on the second aggregate stores nothing at all
    stale_ledger = (await store.load(ledger))
    envs_l = runner._envelopes(ledger, ctx("cmd-multi-0002"), stale_ledger, [CounterIncremented(by=1)])
    envs_i = runner._envelopes(item, ctx("cmd-multi-0002"), LoadedAggregate(item, (), 0), [CounterIncremented(by=1)])
    with pytest.raises(ConcurrencyConflict):
        await store.append_multi([(ledger, envs_l, stale_ledger.last_sequence), (item, envs_i, 0)])
    assert await store.last_sequence() == 3


async def test_each_event_links_to_the_hash_of_its_aggregates_previous_event(store: EventStore) -> None:
    import hashlib

    runner = CommandRunner(store)
    await runner.run(key("h"), ctx("cmd-open-h"), open_counter())
    await runner.run(key("h"), ctx("cmd-two-events-h"), lambda _l: [CounterIncremented(by=1), CounterIncremented(by=2)])
    await runner.run(key("h"), ctx("cmd-inc-h-3"), increment(3))
    events = (await store.load(key("h"))).events
    raws = [(await store.get_raw(e.sequence))[1] for e in events]
    assert events[0].prev_hash is None
    for prev_raw, event in zip(raws, events[1:]):
        assert event.prev_hash == hashlib.sha256(prev_raw).hexdigest()


async def test_an_aggregate_can_be_found_by_its_id_alone(store: EventStore) -> None:
    await CommandRunner(store).run(key("f1", "U42"), ctx("cmd-open-f1"), open_counter())
    assert await store.find_unit("kt", "counter", "f1") == "U42"
    assert await store.find_unit("kt", "counter", "nope") is None


async def test_a_multi_aggregate_append_keeps_each_cached_aggregate_equal_to_the_log(store: EventStore) -> None:
    # A round's 督办编号 series takes part in every report: it is extended in the cache, not reloaded.
    runner = CommandRunner(store)
    series = key("series", "U0")
    for i in range(3):
        await runner.run_multi([key(f"p{i}", "U1"), series], ctx(f"cmd-report-{i:04d}"),
                               lambda _l, i=i: {key(f"p{i}", "U1"): [CounterOpened(title=f"问题{i}")],
                                                series: [CounterIncremented(by=1)]})
    cached = await store.load(series)
    from_log = [e async for e in store.read_subject(series.filter)]
    assert [e.sequence for e in cached.events] == [e.sequence for e in from_log] == [2, 4, 6]
    assert [e.event_id for e in cached.events] == [e.event_id for e in from_log]
    assert cached.last_hash == event_hash((await store.get_raw(6))[1])
