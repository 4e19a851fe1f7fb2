"""A command right after the one that created its aggregate: feed-back (intake's event) then the
unit's deadline at once, for many problems together, with no `min_sequence` and no pause."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from ducha.testing.eventual import assert_not_yet_visible, assert_ok, projections_paused, send_at_once
from rect_support import UNIT1, Upstream


async def test_deadline_sent_right_after_the_feed_back_never_answers_404(up: Upstream) -> None:
    async def life(n: int) -> None:
        fed = await up.problem(f"Q{n}")  # intake's report and feed-back, appended to the log
        body = {"deadline": (up.today() + timedelta(days=20)).isoformat(), "plan": "倒排工期，限期整改"}
        answer = assert_ok(await send_at_once(up.svc, UNIT1, "POST", f"/v1/problems/Q{n}/deadline", body),
                           f"deadline of Q{n}")
        assert answer == {"id": f"Q{n}", "sequence": answer["sequence"], "replayed": False}
        assert answer["sequence"] > fed

    await asyncio.gather(*(life(n) for n in range(30)))
    missing = await send_at_once(up.svc, UNIT1, "POST", "/v1/problems/NOPE/deadline",
                                 {"deadline": (up.today() + timedelta(days=20)).isoformat(), "plan": "方案"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_feed_back_this_service_has_not_seen_yet_is_503_with_retry_after_never_404(up: Upstream) -> None:
    body = {"deadline": (up.today() + timedelta(days=20)).isoformat(), "plan": "倒排工期，限期整改"}
    async with projections_paused(up.kernel):
        await up.problem("LAG1")
        lagging = await up.svc.client.post("/v1/problems/LAG1/deadline", json=body,
                                           headers=up.svc.headers(UNIT1, **{"Idempotency-Key": "deadline-lag1"}))
        assert_not_yet_visible(lagging, "deadline while the projection lags")
    answer = assert_ok(await send_at_once(up.svc, UNIT1, "POST", "/v1/problems/LAG1/deadline", body,
                                          key="deadline-lag1"), "the same command again")
    assert answer["id"] == "LAG1" and not answer["replayed"]
