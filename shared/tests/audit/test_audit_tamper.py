"""Tamper evidence: a copy of the store (second nats-server) with one event changed, removed,
inserted or swapped is caught by `verify`, which names the kind and the position; an unmodified
copy verifies clean up to its last checkpoint."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats
import pytest
from ducha.audit import checkpoint_job, load_checkpoints, record_checkpoint, verify
from ducha.audit.checkpoint import ensure_audit_stream
from ducha.audit.testkit import Log, copy_store
from ducha.kernel.natsserver import NatsServer
from nats.aio.client import Client as NATS

from .conftest import History


@pytest.fixture
async def checkpointed(history: History) -> History:
    """26 events; checkpoints at 10 and 20; 21..26 are the unverified tail."""
    await ensure_audit_stream(history.nc.jetstream())
    assert (await record_checkpoint(history.nc, max_events=10)).up_to_sequence == 10  # type: ignore[union-attr]
    assert (await record_checkpoint(history.nc, max_events=10)).up_to_sequence == 20  # type: ignore[union-attr]
    return history


@pytest.fixture
async def make_copy(tmp_path: Path, checkpointed: History) -> AsyncIterator[Callable[..., object]]:
    servers: list[NatsServer] = []
    clients: list[NATS] = []

    async def make(modify: Callable[[Log], Log] | None = None) -> NATS:
        server = NatsServer(store_dir=tmp_path / f"copy{len(servers)}" / "js").start()
        servers.append(server)
        client = await nats.connect(server.url)
        clients.append(client)
        await copy_store(checkpointed.nc, client, modify)
        return client

    yield make
    for client in clients:
        await client.close()
    for server in servers:
        server.stop()


def at(seq: int) -> int:
    return seq - 1  # list index of a log sequence


async def test_original_and_unmodified_copy_verify_clean(checkpointed: History, make_copy) -> None:  # type: ignore[no-untyped-def]
    live = await verify(checkpointed.nc)
    assert live.ok, live.problems
    assert (live.verified_up_to, live.tail, live.checkpoints_matched) == (20, (21, 26), 2)
    copy = await verify(await make_copy())
    assert copy.ok and copy.verified_up_to == 20 and copy.chain_hash == live.chain_hash


async def test_changed_body_is_named(make_copy) -> None:  # type: ignore[no-untyped-def]
    def change(log: Log) -> Log:
        subject, body = log[at(7)]
        assert "问题2".encode() in body
        log[at(7)] = (subject, body.replace("问题2".encode(), "问题9".encode()))
        return log

    report = await verify(await make_copy(change))
    assert report.kinds() == {"changed", "checkpoint_mismatch"}
    changed = [p for p in report.problems if p.kind == "changed"]
    assert [(p.sequence, p.subject) for p in changed] == [(7, "ducha.ev.intake.U2.problem.P2.IssueReported")]
    assert report.verified_up_to == 0  # the first checkpoint (10) no longer matches


async def test_removed_event_is_named(make_copy) -> None:  # type: ignore[no-untyped-def]
    report = await verify(await make_copy(lambda log: log[: at(8)] + log[at(8) + 1 :]))
    assert report.kinds() == {"removed", "checkpoint_mismatch"}
    assert [p.sequence for p in report.problems if p.kind == "removed"] == [8]


async def test_inserted_event_is_named(make_copy) -> None:  # type: ignore[no-untyped-def]
    def insert(log: Log) -> Log:
        _subject, body = log[at(6)]  # a forged report of a problem that never was
        forged = json.loads(body)
        forged.update(aggregate_id="P9", event_id=str(uuid.uuid4()))
        forged["payload"]["title"] = "伪造的问题"
        entry = ("ducha.ev.intake.U1.problem.P9.IssueReported", json.dumps(forged, ensure_ascii=False).encode())
        return log[:9] + [entry] + log[9:]

    report = await verify(await make_copy(insert))
    assert report.kinds() == {"inserted", "checkpoint_mismatch"}
    inserted = [p for p in report.problems if p.kind == "inserted"]
    assert [(p.sequence, p.subject) for p in inserted] == [(10, "ducha.ev.intake.U1.problem.P9.IssueReported")]


async def test_swapped_events_are_named(make_copy) -> None:  # type: ignore[no-untyped-def]
    def swap(log: Log) -> Log:  # feedback of P2 and of P3: different aggregates, chains stay intact
        log[at(14)], log[at(15)] = log[at(15)], log[at(14)]
        return log

    report = await verify(await make_copy(swap))
    assert report.kinds() == {"reordered", "checkpoint_mismatch"}
    assert {p.sequence for p in report.problems if p.kind == "reordered"} <= {14, 15}
    assert report.verified_up_to == 10


async def test_tail_after_last_checkpoint_is_checked_by_hash_chains(make_copy) -> None:  # type: ignore[no-untyped-def]
    def change(log: Log) -> Log:  # RectificationVerified of P1; ProblemWrittenOff (24) follows it
        subject, body = log[at(22)]
        log[at(22)] = (subject, body.replace("整改到位".encode(), "基本到位".encode()))
        return log

    report = await verify(await make_copy(change))
    assert report.verified_up_to == 20 and report.tail == (21, 26)
    assert [(p.kind, p.sequence) for p in report.problems] == [("changed", 22)]
    assert report.problems[0].subject == "ducha.ev.verification.U1.problem.P1.RectificationVerified"


async def test_same_aggregate_swap_in_tail_is_reordered(make_copy) -> None:  # type: ignore[no-untyped-def]
    def swap(log: Log) -> Log:  # verify (22) and write-off (24) of P1, ledger line between them
        log[at(22)], log[at(24)] = log[at(24)], log[at(22)]
        return log

    report = await verify(await make_copy(swap))
    assert "reordered" in report.kinds() and "removed" not in report.kinds()
    assert report.verified_up_to == 20


async def test_checkpoints_continue_and_never_conflict(checkpointed: History) -> None:
    # two instances racing: one checkpoint each time, never two for the same range
    results = await asyncio.gather(*(record_checkpoint(checkpointed.nc) for _ in range(4)))
    recorded = [r for r in results if r is not None]
    assert len(recorded) >= 1
    checkpoints = await load_checkpoints(checkpointed.nc.jetstream())
    assert [c.up_to_sequence for c in checkpoints] == [10, 20, 26]
    assert checkpoints[2].previous_chain_hash == checkpoints[1].chain_hash
    assert await record_checkpoint(checkpointed.nc) is None  # nothing new


async def test_checkpoint_job_runs_in_the_background(history: History) -> None:
    class FakeKernel:
        nc = history.nc
        store = history.store
        settings = None

    task = asyncio.create_task(checkpoint_job(FakeKernel(), interval=0.05))
    try:
        for _ in range(100):
            checkpoints = await load_checkpoints(history.nc.jetstream()) if await _has_audit(history.nc) else []
            if checkpoints and checkpoints[-1].up_to_sequence == 26:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert checkpoints[-1].up_to_sequence == 26
    assert (await verify(history.nc)).verified_up_to == 26


async def _has_audit(nc: NATS) -> bool:
    try:
        await nc.jetstream().stream_info("DUCHA_AUDIT")
        return True
    except Exception:  # noqa: BLE001
        return False


async def test_a_checkpoint_chain_is_bound_to_one_audit_key(checkpointed: History) -> None:
    from ducha.audit.chain import AuditKey
    from ducha.audit.checkpoint import KeyMismatch

    other = AuditKey(b"\x02" * 32)
    with pytest.raises(KeyMismatch):
        await record_checkpoint(checkpointed.nc, key=other)
    report = await verify(checkpointed.nc, key=other)
    assert not report.ok and "checkpoint_mismatch" in report.kinds()
