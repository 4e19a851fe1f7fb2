"""The audit service: office and auditor (read-only, city-wide) see the latest checkpoint and
verification run, verify on demand, download exports; every access is recorded; the scheduled jobs
run once per period however many instances run them; a team sees the timelines of the units it is
assigned to; nobody else gets in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ducha.audit import checkpoint_until_current, verify_file
from ducha.audit.app import spec
from ducha.audit.chain import AuditKey
from ducha.audit.jobs import claim, claims_bucket, once_per_slot
from ducha.audit.office import verification_job
from ducha.contracts import Actor, Role
from ducha.contracts.intake import TeamAssignedToUnits
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import ServiceHarness, run_service

from .conftest import OFFICE, TEAM, History

AUDITOR = Actor(id="auditor-1", name="市纪委监委张科长", role=Role.AUDITOR)
UNIT = Actor(id="user-U1", name="U1联络员", role=Role.UNIT, unit_id="U1")
OTHER_TEAM = Actor(id="t2", name="二组", role=Role.TEAM, team_id="T2")


@pytest.fixture
async def audit(history: History, nats_server: NatsServer, tmp_path: Path, keys: KeyPair
                ) -> AsyncIterator[ServiceHarness]:
    async with run_service(spec(), nats_server.url, tmp_path, keys) as svc:
        yield svc


async def test_auditor_sees_checkpoint_verifies_and_every_access_is_recorded(audit: ServiceHarness) -> None:
    kernel = audit.kernel
    await checkpoint_until_current(kernel.store, key=AuditKey.load(kernel.settings.key_dir))
    status = (await audit.client.get("/v1/audit/status", headers=audit.headers(AUDITOR))).json()
    assert status["checkpoint"]["up_to_sequence"] == status["log_last_sequence"] == await kernel.store.last_sequence()
    assert len(status["checkpoint"]["chain_hash"]) == 64 and status["last_verification"] is None

    run = (await audit.client.post("/v1/audit/verifications", headers=audit.headers(AUDITOR))).json()
    assert run["ok"] and run["verified_up_to"] == status["checkpoint"]["up_to_sequence"]
    assert run["trigger"] == "auditor:auditor-1"
    again = (await audit.client.get("/v1/audit/status", headers=audit.headers(OFFICE))).json()
    assert again["last_verification"]["audit_sequence"] == run["audit_sequence"]

    accesses = (await audit.client.get("/v1/audit/accesses", headers=audit.headers(OFFICE))).json()["items"]
    assert [(a["actor"]["id"], a["action"]) for a in accesses] == [
        ("office-1", "accesses"), ("office-1", "status"), ("auditor-1", "verify"), ("auditor-1", "status")]


async def test_only_office_and_auditor_may_use_the_audit_pages(audit: ServiceHarness) -> None:
    for who in (UNIT, TEAM):
        for path in ("/v1/audit/status", "/v1/audit/accesses", "/v1/audit/exports?unit=U1"):
            r = await audit.client.get(path, headers=audit.headers(who))
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await audit.client.post("/v1/audit/verifications", headers=audit.headers(who))).status_code == 403


async def test_auditor_downloads_a_units_export_that_verifies_offline(audit: ServiceHarness, tmp_path: Path) -> None:
    r = await audit.client.get("/v1/audit/exports", params={"unit": "U1"}, headers=audit.headers(AUDITOR))
    assert r.status_code == 200, r.text
    assert 'filename="unit-U1-' in r.headers["content-disposition"]
    file = tmp_path / "u1.jsonl"
    file.write_bytes(r.content)
    report = verify_file(file)
    assert report.ok and report.chain_hash == r.headers["x-ducha-chain-hash"]
    get = audit.client.get
    assert (await get("/v1/audit/exports", params={"unit": "NOPE"}, headers=audit.headers(AUDITOR))).status_code == 404
    assert (await get("/v1/audit/exports", headers=audit.headers(AUDITOR))).status_code == 422
    accesses = (await get("/v1/audit/accesses", headers=audit.headers(AUDITOR))).json()["items"]
    assert {"action": "export", "unit": "U1"}.items() <= {"action": accesses[-1]["action"],
                                                         **accesses[-1]["details"]}.items()


async def test_the_scheduled_verification_records_its_runs_once_per_period(audit: ServiceHarness) -> None:
    # two instances' jobs at once: each period is claimed by one of them
    tasks = [asyncio.create_task(verification_job(audit.kernel, interval=0.5)) for _ in range(2)]
    try:
        for _ in range(200):
            runs = (await audit.client.get("/v1/audit/verifications", headers=audit.headers(OFFICE))).json()["items"]
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=10)
    assert all(task.done() for task in tasks)
    assert runs and runs[0]["trigger"] == "scheduled" and runs[0]["ok"]
    starts = sorted(r["started_at"] for r in runs)
    assert len(starts) == len(set(starts))
    kv = await claims_bucket(audit.kernel.nc.jetstream())
    slot = int((await kv.get("verification")).value)
    assert len(runs) <= 3 and not await claim(kv, "verification", slot)  # a period already claimed: not again


async def test_once_per_slot_runs_in_one_of_many_instances(audit: ServiceHarness) -> None:
    js = audit.kernel.nc.jetstream()
    runs: list[int] = []

    async def work(i: int) -> None:
        runs.append(i)

    tasks = [asyncio.create_task(once_per_slot(js, "test-job", 0.3, lambda i=i: work(i), at_start=True))
             for i in range(3)]
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10)
    assert all(task.done() for task in tasks)
    assert 2 <= len(runs) <= 5  # one per period of 0.3 s over ~1 s, never three at once


async def test_a_team_sees_the_timelines_of_the_units_it_is_assigned_to(
        audit: ServiceHarness, history: History) -> None:
    url = "/v1/audit/problems/P1/timeline?unit=U1"
    assert (await audit.client.get(url, headers=audit.headers(OTHER_TEAM))).status_code == 404
    seq = await history.run("assign T2", AggregateKey("intake", "team", "T2"), OFFICE,
                            TeamAssignedToUnits(unit_ids=("U1",)))
    assert await audit.kernel.wait_for(seq, timeout=10)
    resp = await audit.client.get(url, headers=audit.headers(OTHER_TEAM))
    assert resp.status_code == 200 and len(resp.json()["events"]) == 10
