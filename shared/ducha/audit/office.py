"""Integrity for the office and the auditor, over HTTP: the latest checkpoint, verification runs
(scheduled and on demand, each recorded), export downloads, and a record of every access.

Records go to the audit stream `DUCHA_AUDIT` (deny delete/purge) beside the checkpoints:

    ducha.audit.access        {at, actor: {id, name, role}, action, details}
    ducha.audit.verification  {started_at, finished_at, trigger, ok, events, ..., problems}

They are about the log, not part of it: they never change the hash chain being verified.
The audit service (`ducha.audit.app`) includes `integrity_router()` in its routers and
`verification_job` in its background jobs, beside `checkpoint_job`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats.js.errors
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from nats.js import JetStreamContext

from ..contracts.base import Actor, Role
from ..kernel.errors import Forbidden, InvalidCommand, NotFound
from ..kernel.http import CurrentActor, KernelDep, error_responses
from ..kernel.runtime import Kernel
from ..kernel.subjects import check_token
from .chain import AUDIT_PREFIX, AUDIT_STREAM, CHECKPOINT_SUBJECT, AuditKey
from .checkpoint import ensure_audit_stream, last_checkpoint
from .jobs import once_per_slot
from .settings import audit_settings

log = logging.getLogger("ducha.audit")

ACCESS_SUBJECT = f"{AUDIT_PREFIX}.access"
VERIFICATION_SUBJECT = f"{AUDIT_PREFIX}.verification"
MAX_PROBLEMS_RECORDED = 50
AUDIT_ROLES = (Role.OFFICE, Role.AUDITOR)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def require_audit_role(actor: Actor) -> None:
    if actor.role not in AUDIT_ROLES:
        raise Forbidden(f"role '{actor.role.value}' may not use the audit pages (office and auditor only)")


async def record_access(js: JetStreamContext, actor: Actor, action: str, **details: Any) -> None:
    """Who looked at what, in the audit stream (an access that cannot be recorded is refused)."""
    body = {"at": _now(), "actor": {"id": actor.id, "name": actor.name, "role": actor.role.value},
            "action": action, "details": details}
    await js.publish(ACCESS_SUBJECT, json.dumps(body, ensure_ascii=False).encode(), stream=AUDIT_STREAM)


async def _records(js: JetStreamContext, subject: str, limit: int) -> list[dict[str, Any]]:
    """The last `limit` records on a subject, newest first. The last one is a direct lookup; a list
    walks the subject forward (one lookup per record: fine for nightly runs and page accesses)."""
    if limit == 1:
        try:
            raw = await js.get_last_msg(AUDIT_STREAM, subject)
        except nats.js.errors.NotFoundError:
            return []
        return [{**json.loads(raw.data or b"{}"), "audit_sequence": raw.seq}]
    found: deque[dict[str, Any]] = deque(maxlen=limit)
    seq = 1
    while True:
        try:
            msg = await js.get_msg(AUDIT_STREAM, seq=seq, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            break
        found.append({**json.loads(msg.data or b"{}"), "audit_sequence": msg.seq})
        seq = (msg.seq or seq) + 1
    return list(reversed(found))


async def run_verification(kernel: Kernel, trigger: str, key: AuditKey) -> dict[str, Any]:
    """Verify the live log against its checkpoints and record the result."""
    from .sources import verify_live

    started = _now()
    clock = time.perf_counter()
    report = await verify_live(kernel.nc, key=key)
    result = {
        "started_at": started,
        "finished_at": _now(),
        "seconds": round(time.perf_counter() - clock, 3),
        "trigger": trigger,
        "ok": report.ok,
        "events": report.events,
        "first_sequence": report.first_sequence,
        "last_sequence": report.last_sequence,
        "verified_up_to": report.verified_up_to,
        "chain_hash": report.chain_hash,
        "checkpoints": report.checkpoints,
        "checkpoints_matched": report.checkpoints_matched,
        "problem_count": len(report.problems),
        "problems": [{"kind": p.kind, "label": p.label, "sequence": p.sequence, "subject": p.subject,
                      "detail": p.detail} for p in report.problems[:MAX_PROBLEMS_RECORDED]],
    }
    js = kernel.nc.jetstream()
    await ensure_audit_stream(js)
    ack = await js.publish(VERIFICATION_SUBJECT, json.dumps(result, ensure_ascii=False).encode(), stream=AUDIT_STREAM)
    return {**result, "audit_sequence": ack.seq}


def _key(kernel: Kernel) -> AuditKey:
    key_dir = getattr(kernel.settings, "key_dir", None)
    return AuditKey.load(key_dir) if key_dir is not None else AuditKey.from_environment()


async def verification_job(kernel: Kernel, interval: float | None = None, phase: float | None = None) -> None:
    """Background job: at the start of every period of `interval` seconds (default
    $DUCHA_AUDIT_VERIFY_SECONDS or nightly, at 03:00 in the city), verify the whole log and record
    the result (trigger `scheduled`) — in one instance only, however many run this job."""
    settings = audit_settings()
    every = interval if interval is not None else settings.verify_seconds
    shift = phase if phase is not None else (settings.verify_phase_seconds % every if interval is None else 0.0)
    key = _key(kernel)

    async def run() -> None:
        result = await run_verification(kernel, "scheduled", key)
        log.log(logging.INFO if result["ok"] else logging.ERROR,
                "scheduled verification: %s (%d events, verified up to %d)",
                "ok" if result["ok"] else f"{result['problem_count']} problem(s)",
                result["events"], result["verified_up_to"])

    await once_per_slot(kernel.nc.jetstream(), "verification", every, run, phase=shift,
                        replicas=getattr(kernel.settings, "stream_replicas", 1))


def _checkpoint_dict(js_checkpoint: Any) -> dict[str, Any] | None:
    if js_checkpoint is None:
        return None
    return {"up_to_sequence": js_checkpoint.up_to_sequence, "chain_hash": js_checkpoint.chain_hash,
            "recorded_at": js_checkpoint.recorded_at, "key_id": js_checkpoint.key_id,
            "scheme": js_checkpoint.scheme, "audit_sequence": js_checkpoint.audit_sequence}


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    try:
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, 1 << 16):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def integrity_router() -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit"])
    forbidden_or_missing = error_responses(401, 403, 404, 422)

    async def admitted(kernel: Kernel, actor: Actor, action: str, **details: Any) -> JetStreamContext:
        """Every use of the audit pages is itself on record, so the check and the record go together."""
        require_audit_role(actor)
        js: JetStreamContext = kernel.nc.jetstream()
        await ensure_audit_stream(js)
        await record_access(js, actor, action, **details)
        return js

    @router.get("/status", summary="审计核查：latest checkpoint and verification run (office, auditor)",
                responses=forbidden_or_missing)
    async def status(kernel: KernelDep, actor: CurrentActor) -> dict[str, Any]:
        js = await admitted(kernel, actor, "status")
        runs = await _records(js, VERIFICATION_SUBJECT, 1)
        return {
            "checkpoint": _checkpoint_dict(await last_checkpoint(js)),
            "checkpoint_subject": CHECKPOINT_SUBJECT,
            "log_last_sequence": await kernel.store.last_sequence(),
            "last_verification": runs[0] if runs else None,
        }

    @router.post("/verifications", summary="verify the whole log now and record the result (office, auditor)",
                 responses=error_responses(401, 403, 404, 409, 422))
    async def verify_now(kernel: KernelDep, actor: CurrentActor) -> dict[str, Any]:
        await admitted(kernel, actor, "verify")
        return await run_verification(kernel, f"{actor.role.value}:{actor.id}", _key(kernel))

    @router.get("/verifications", summary="recent verification runs, newest first (office, auditor)",
                responses=forbidden_or_missing)
    async def verifications(kernel: KernelDep, actor: CurrentActor,
                            limit: int = Query(10, ge=1, le=100)) -> dict[str, Any]:
        js = await admitted(kernel, actor, "verifications")
        return {"items": await _records(js, VERIFICATION_SUBJECT, limit)}

    @router.get("/accesses", summary="who used the audit pages, newest first (office, auditor)",
                responses=forbidden_or_missing)
    async def accesses(kernel: KernelDep, actor: CurrentActor,
                       limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        js = await admitted(kernel, actor, "accesses")
        return {"items": await _records(js, ACCESS_SUBJECT, limit)}

    @router.get("/exports", summary="download a unit's or a round's export file (office, auditor)",
                response_class=StreamingResponse, responses=forbidden_or_missing)
    async def download_export(kernel: KernelDep, actor: CurrentActor,
                              unit: str | None = Query(None, description="unit id"),
                              round: str | None = Query(None, description="round id")) -> StreamingResponse:
        from .export import export

        require_audit_role(actor)
        if (unit is None) == (round is None):
            raise InvalidCommand("give either unit or round", field="unit")
        which = unit or round or ""
        try:
            check_token(which, "unit" if unit else "round")
        except ValueError as exc:
            raise InvalidCommand(str(exc), field="unit" if unit else "round") from None
        await admitted(kernel, actor, "export", unit=unit, round=round)
        folder = Path(tempfile.mkdtemp(prefix="ducha-export-"))
        path = folder / "export.jsonl"
        header = await export(kernel.nc, path, round_id=round, unit_id=unit, key=_key(kernel))
        if not header["events_included"]:
            path.unlink(missing_ok=True)
            folder.rmdir()
            raise NotFound(f"no events of {'unit' if unit else 'round'} {which}")
        name = f"{'unit' if unit else 'round'}-{which}-{header['last_sequence']}.jsonl"

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in _file_chunks(path):
                yield chunk
            folder.rmdir()

        return StreamingResponse(chunks(), media_type="application/x-ndjson",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"',
                                          "X-Ducha-Chain-Hash": str(header["chain_hash"])})

    return router
