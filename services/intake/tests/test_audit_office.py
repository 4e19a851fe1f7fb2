"""The audit pages' API on intake: office and auditor (read-only, city-wide) see the latest
checkpoint and verification run, verify on demand, download exports; every access is recorded;
the scheduled verification records its runs; nobody else gets in."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ducha.audit import checkpoint_until_current, verify_file
from ducha.audit.chain import AuditKey
from ducha.audit.office import verification_job
from ducha.contracts import Actor, Role
from intake_support import OFFICE, Api, World, report, unit_user

AUDITOR = Actor(id="auditor-1", name="市纪委监委张科长", role=Role.AUDITOR)


async def test_auditor_sees_checkpoint_verifies_and_every_access_is_recorded(api: Api, world: World) -> None:
    await report(api, world)
    kernel = api.svc.kernel
    await checkpoint_until_current(kernel.store, key=AuditKey.load(kernel.settings.key_dir))  # the service's key
    status = (await api.get(AUDITOR, "/v1/audit/status")).json()
    assert status["checkpoint"]["up_to_sequence"] == status["log_last_sequence"] == await api.last_log_sequence()
    assert len(status["checkpoint"]["chain_hash"]) == 64 and status["last_verification"] is None

    run = (await api.post(AUDITOR, "/v1/audit/verifications")).json()
    assert run["ok"] and run["verified_up_to"] == status["checkpoint"]["up_to_sequence"]
    assert run["trigger"] == "auditor:auditor-1"
    again = (await api.get(OFFICE, "/v1/audit/status")).json()
    assert again["last_verification"]["audit_sequence"] == run["audit_sequence"]

    accesses = (await api.get(OFFICE, "/v1/audit/accesses")).json()["items"]
    assert [(a["actor"]["id"], a["action"]) for a in accesses] == [
        ("office-1", "accesses"), ("office-1", "status"), ("auditor-1", "verify"), ("auditor-1", "status")]


async def test_only_office_and_auditor_may_use_the_audit_pages(api: Api, world: World) -> None:
    for who in (unit_user("U001"), world.team):
        for path in ("/v1/audit/status", "/v1/audit/accesses", "/v1/audit/exports?unit=U001"):
            r = await api.get(who, path)
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert (await api.post(who, "/v1/audit/verifications")).status_code == 403


async def test_auditor_downloads_a_units_export_that_verifies_offline(api: Api, world: World, tmp_path: Path) -> None:
    await report(api, world)
    r = await api.get(AUDITOR, "/v1/audit/exports", unit="U001")
    assert r.status_code == 200, r.text
    assert 'filename="unit-U001-' in r.headers["content-disposition"]
    file = tmp_path / "u1.jsonl"
    file.write_bytes(r.content)
    report_ = verify_file(file)
    assert report_.ok and report_.chain_hash == r.headers["x-ducha-chain-hash"]
    assert (await api.get(AUDITOR, "/v1/audit/exports", unit="NOPE")).status_code == 404
    assert (await api.get(AUDITOR, "/v1/audit/exports")).status_code == 422
    accesses = (await api.get(AUDITOR, "/v1/audit/accesses")).json()["items"]
    assert {"action": "export", "unit": "U001"}.items() <= {"action": accesses[-1]["action"],
                                                           **accesses[-1]["details"]}.items()


async def test_the_scheduled_verification_records_its_runs(api: Api, world: World) -> None:
    task = asyncio.create_task(verification_job(api.svc.kernel, interval=0.05))
    try:
        for _ in range(400):
            runs = (await api.get(OFFICE, "/v1/audit/verifications")).json()["items"]
            if runs:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert runs and runs[0]["trigger"] == "scheduled" and runs[0]["ok"]
