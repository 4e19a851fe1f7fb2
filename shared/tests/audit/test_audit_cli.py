"""`ducha audit ...` end to end on a real log, and replay-equals-live over the services'
registered projections (when they load)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
from ducha.cli import main, service_specs
from ducha.contracts import registry
from ducha.kernel.db import make_engine
from ducha.kernel.eventstore import EventStore, ensure_streams
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.projection import ProjectionRunner
from ducha.testing.plugin import drop_schema, fresh_database_url

from .conftest import build_history


async def _history(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await ensure_streams(nc.jetstream())
        await build_history(nc)
    finally:
        await nc.close()


def test_cli_verify_checkpoint_export_timeline(nats_server: NatsServer, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_history(nats_server.url))
    nats_arg = ["--nats", nats_server.url]
    assert main(["audit", "verify", *nats_arg]) == 0
    out = capsys.readouterr().out
    assert "未发现篡改" in out and "partially verified: 1..26" in out

    assert main(["audit", "checkpoint", *nats_arg]) == 0
    assert "up to sequence 26" in capsys.readouterr().out
    assert main(["audit", "verify", *nats_arg, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified_up_to"] == 26

    file = tmp_path / "u1.jsonl"
    assert main(["audit", "export", "--unit", "U1", "-o", str(file), *nats_arg]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--file", str(file)]) == 0
    assert "verified: sequence 1..26" in capsys.readouterr().out
    file.write_text(file.read_text(encoding="utf-8").replace("整改到位", "整改完成"), encoding="utf-8")
    assert main(["audit", "verify", "--file", str(file)]) == 1
    out = capsys.readouterr().out
    assert "内容被改动" in out and "sequence 22" in out

    assert main(["audit", "timeline", "P1", "--unit", "U1", *nats_arg]) == 0
    out = capsys.readouterr().out
    assert "上报问题" in out and "审核验收未通过" in out and "缺少施工日志" in out
    assert main(["audit", "timeline", "P1", "--unit", "U1", "--csv", "-o", str(tmp_path / "t.csv"), *nats_arg]) == 0
    assert "销号" in (tmp_path / "t.csv").read_text(encoding="utf-8-sig")
    capsys.readouterr()
    assert main(["audit", "timeline", "P1", "--unit", "U1", "--json", *nats_arg]) == 0
    assert len(json.loads(capsys.readouterr().out)["events"]) == 10
    assert main(["audit", "timeline", "P404", "--unit", "U1", *nats_arg]) == 2


def _services() -> dict:  # type: ignore[type-arg]
    # The services are installed with the project (`./dev.sh`): if they do not load, that is a
    # failure to see, not a reason to skip the replay check.
    specs = service_specs()
    assert {"intake", "rectification", "verification", "notify"} <= set(specs), sorted(specs)
    return specs


def test_replay_equals_live_for_the_services(nats_server: NatsServer, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    specs = _services()
    asyncio.run(_history(nats_server.url))
    databases = {}
    for name in specs:
        url, schema = fresh_database_url(tmp_path / "data", name)
        databases[name] = (url, schema)
        monkeypatch.setenv(f"DUCHA_{name.upper()}_DATABASE_URL", url)
        if schema:
            monkeypatch.setenv(f"DUCHA_{name.upper()}_DATABASE_SCHEMA", schema)

    async def live_projections() -> None:  # what the running services would have built
        nc = await nats.connect(nats_server.url)
        store = EventStore(nc, registry)
        last = await store.last_sequence()
        for name, spec in specs.items():
            engine = make_engine(*databases[name])
            for projection in spec.projections():
                runner = ProjectionRunner(engine, store, projection, name)
                await runner.start()
                assert await runner.wait_for(last, timeout=30)
                await runner.stop()
            engine.dispose()
        await nc.close()

    asyncio.run(live_projections())
    try:
        code = main(["--data-dir", str(tmp_path / "data"), "audit", "replay", "--nats", nats_server.url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.strip().endswith("no differences")
        assert "events/s" in out
    finally:
        for url, schema in databases.values():
            drop_schema(url, schema)
