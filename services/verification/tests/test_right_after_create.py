"""Commands sent without waiting: submission (rectification's event) then the review, acceptance
then the write-off, for many problems at once; and two sends of one write-off with one key that
arrive together (issue 19: once answered 500 although stored)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from ducha.kernel.commands import CommandContext, CommandResult, DecideMulti
from ducha.kernel.subjects import AggregateKey
from ducha.testing.eventual import assert_not_yet_visible, assert_ok, projections_paused, send_at_once

World = Any
ACCEPT = {"submission_no": 1, "outcome": "accept", "effectiveness": "good", "assessment": "整改到位"}


async def test_review_and_write_off_sent_right_after_what_they_depend_on_never_answer_404(world: World) -> None:
    w = world

    async def life(n: int) -> None:
        pid = f"F{n}"
        await w.problem(pid, unit=f"U{n % 3 + 1}")
        await w.submit(pid, unit=f"U{n % 3 + 1}")  # rectification's event, appended to the log just now
        accepted = assert_ok(await send_at_once(w.svc, w.MEMBER, "POST", f"/v1/problems/{pid}/review", ACCEPT),
                             f"review of {pid}")
        written = assert_ok(await send_at_once(w.svc, w.MEMBER, "POST", f"/v1/problems/{pid}/write-off"),
                            f"write-off of {pid}")
        assert written["id"] == pid and written["sequence"] > accepted["sequence"] and not written["replayed"]

    await asyncio.gather(*(life(n) for n in range(24)))
    ledger = await w.get("/v1/rounds/R1/ledger", w.OFFICE)
    assert sorted(e["ledger_no"] for e in ledger["entries"]) == list(range(1, 25))
    missing = await send_at_once(w.svc, w.MEMBER, "POST", "/v1/problems/NOPE/write-off")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_a_problem_this_service_has_not_seen_yet_is_503_with_retry_after_never_404(world: World) -> None:
    w = world
    async with projections_paused(w.svc.kernel):
        await w.problem("LAG1")
        await w.submit("LAG1")
        lagging = await w.client.post("/v1/problems/LAG1/review", json=ACCEPT,
                                      headers=w.svc.headers(w.MEMBER, **{"Idempotency-Key": "review-lag1"}))
        assert_not_yet_visible(lagging, "review while the projection lags")
    answer = assert_ok(await send_at_once(w.svc, w.MEMBER, "POST", "/v1/problems/LAG1/review", ACCEPT,
                                          key="review-lag1"), "the same review again")
    assert answer["id"] == "LAG1" and not answer["replayed"]


async def test_two_sends_of_one_write_off_with_one_key_arriving_together_get_the_same_answer(world: World) -> None:
    w = world
    commands = w.svc.kernel.commands
    real_run_multi = commands.run_multi
    barrier = asyncio.Barrier(2)

    async def together(keys: Sequence[AggregateKey], ctx: CommandContext, decide: DecideMulti) -> CommandResult:
        await asyncio.wait_for(barrier.wait(), 10)  # both sends reach the runner before either goes on
        return await real_run_multi(keys, ctx, decide)

    commands.run_multi = together
    for n in range(8):
        pid = f"W{n}"
        await w.problem(pid)
        await w.submit(pid)
        await w.accept(pid)
        key = uuid.uuid4().hex
        headers = w.svc.headers(w.MEMBER, **{"Idempotency-Key": key})
        one, two = await asyncio.gather(*(w.client.post(f"/v1/problems/{pid}/write-off", headers=headers)
                                          for _ in range(2)))
        assert (one.status_code, two.status_code) == (200, 200), (one.text, two.text)
        a, b = one.json(), two.json()
        assert sorted([a.pop("replayed"), b.pop("replayed")]) == [False, True]
        assert a == b and a["ledger_no"] == n + 1
    ledger = await w.get("/v1/rounds/R1/ledger", w.OFFICE)
    assert [e["ledger_no"] for e in ledger["entries"]] == list(range(1, 9))
