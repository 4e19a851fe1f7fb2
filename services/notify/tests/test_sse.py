"""Server-Sent Events: a unit's own events in order, resumable with Last-Event-ID, scope-checked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ducha.contracts.intake import IssueFedBack
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_notify.app import spec

from .conftest import OFFICE, UNIT1, UNIT2, fast_settings, issue, make_emit, seed_directory  # type: ignore[import-not-found]

FED_BACK = IssueFedBack(responsible_person="张三", commit_deadline_by=date(2026, 1, 9), max_deadline=date(2026, 3, 31),
                        fed_back_at=datetime(2026, 1, 6, 2, tzinfo=UTC))


def frames(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "id" in fields:
            out.append(fields)
    return out


async def test_sse_own_unit_resumable_and_scoped(nats_server: NatsServer, tmp_path: Path, keys: Any) -> None:
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await emit(issue("未交办的问题"), "PX", "U1")  # never fed back: never on the unit's stream
        for i in range(3):
            await emit(issue(f"问题{i}"), f"P{i}", "U1")
            await emit(FED_BACK, f"P{i}", "U1")
            await emit(issue(f"别的问题{i}"), f"Q{i}", "U2")
            await emit(FED_BACK, f"Q{i}", "U2")
        url = "/v1/streams/units/U1/events"
        resp = await svc.client.get(url, params={"limit": 3}, headers=svc.headers(UNIT1))
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        first = frames(resp.text)
        assert [f["event"] for f in first] == ["UnitRegistered", "PersonRegistered", "IssueReported"]
        # resume after the last id seen
        resp = await svc.client.get(url, params={"idle_timeout": 1.5},
                                    headers=svc.headers(UNIT1, **{"Last-Event-ID": first[-1]["id"]}))
        rest = frames(resp.text)
        assert [json.loads(f["data"])["payload"].get("title") for f in rest if f["event"] == "IssueReported"] == [
            "问题1", "问题2"]
        assert [f["event"] for f in rest].count("IssueFedBack") == 3
        assert "未交办的问题" not in resp.text and "command_id" not in resp.text
        ids = [int(f["id"]) for f in first + rest]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(json.loads(f["data"])["unit_id"] == "U1" for f in first + rest)
        # scope: another unit may not; the office may
        assert (await svc.client.get(url, headers=svc.headers(UNIT2))).status_code == 403
        office = await svc.client.get(url, params={"limit": 1}, headers=svc.headers(OFFICE))
        assert office.status_code == 200 and len(frames(office.text)) == 1
        assert (await svc.client.get(url)).status_code == 401
