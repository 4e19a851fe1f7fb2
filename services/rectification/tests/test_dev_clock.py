"""Overdue paths on a running system: the same system restarted with a development clock offset
(`DUCHA_DEV_CLOCK_OFFSET`) misses a deadline, and its warning job records `DeadlineMissed`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ducha.kernel.calendar import city_today
from ducha.kernel.clock import SystemClock
from ducha.testing.plugin import drop_schema, fresh_database_url, run_service
from ducha_rectification.app import spec
from rect_support import UNIT1, Client, Upstream


async def test_restarted_a_week_ahead_the_warning_job_records_the_missed_deadline(
    nats_server: Any, tmp_path: Path, keys: Any
) -> None:
    db = fresh_database_url(tmp_path, "rectification")
    today = city_today(SystemClock())
    try:
        async with run_service(spec(), nats_server.url, tmp_path, keys, database=db) as now:
            up = Upstream(now)
            await up.world()
            await up.problem("P1")
            assert (await Client(now).commit("P1", today + timedelta(days=2))).status_code == 200
            assert "DeadlineMissed" not in await up.types("P1")

        async with run_service(spec(), nats_server.url, tmp_path, keys, database=db,
                               dev_clock_offset="+7d") as later:
            up = Upstream(later)
            assert up.today() == today + timedelta(days=7)

            async def missed() -> Any:
                return [e for e in await up.events("P1") if e.event_type == "DeadlineMissed"]

            event = (await up.wait_until(missed, timeout=60))[0]  # the job's scan at start
            assert event.payload.deadline == today + timedelta(days=2)
            row = (await Client(later).ledger(UNIT1, min_sequence=event.sequence))["items"][0]
            assert row["light"] == "red"
    finally:
        drop_schema(*db)
