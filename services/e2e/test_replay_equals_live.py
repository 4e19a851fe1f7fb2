"""Replay equals live: a generated workload of problems at every stage, driven through the real
intake, rectification and verification services, then every projection of each service rebuilt
from the log into a scratch database and compared table by table with the live one."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from ducha.audit.replay import Scratch, replay_service
from ducha.cli import service_specs
from ducha.kernel.clock import ManualClock
from ducha.kernel.identity import KeyPair
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import DLQ_STREAM
from ducha.testing.plugin import run_service
from ducha.testing.workload import STAGES, run_workload

PROBLEMS = int(os.environ.get("DUCHA_WORKLOAD_PROBLEMS", "300"))


async def test_every_projection_rebuilt_from_the_log_equals_the_live_one(
    nats_server: NatsServer, tmp_path: Path, keys: KeyPair
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    specs = service_specs()
    names = ["intake", "rectification", "verification"]
    async with (
        run_service(specs["intake"], nats_server.url, tmp_path / "intake", keys, clock=clock) as intake,
        run_service(specs["rectification"], nats_server.url, tmp_path / "rect", keys, clock=clock) as rect,
        run_service(specs["verification"], nats_server.url, tmp_path / "ver", keys, clock=clock) as ver,
    ):
        services = {"intake": intake, "rectification": rect, "verification": ver}
        # A tenth of the commands go twice at once with one Idempotency-Key (issue 19): the same
        # answer to both, nothing stored twice, no 5xx (checked by the driver), no dead letter.
        result = await run_workload(services, PROBLEMS, resend_share=0.1)
        assert result.problems == PROBLEMS and set(result.by_stage) == set(STAGES)
        assert result.resent > PROBLEMS // 10
        dead = await intake.kernel.store.js.stream_info(DLQ_STREAM)
        assert dead.state.messages == 0
        for name in names:
            kernel = services[name].kernel
            assert await kernel.wait_for(await kernel.store.last_sequence(), timeout=30)
            url = kernel.settings.resolved_database_url()
            scratch = Scratch.like(url, f"{name}_replay", tmp_path / "scratch")
            try:
                summaries = await replay_service(specs[name], kernel.store, kernel.engine, scratch)
            finally:
                scratch.drop()
            for summary in summaries:
                assert summary.events > 0, summary
                assert summary.differences == [], (name, summary.projection, summary.differences[:3])
