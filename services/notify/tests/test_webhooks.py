"""Webhooks against real local HTTP receivers: signed, ordered, retried, dead-lettered, replayed;
a receiver that is down gets everything once back; bad and slow receivers block nobody."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from ducha.contracts.rectification import DeadlineChange, DeadlineSet
from ducha.kernel.natsserver import NatsServer
from ducha.kernel.subjects import AggregateKey
from ducha.testing.plugin import fresh_database_url, run_service
from ducha_notify.app import spec
from ducha_notify.webhooks import formats

from .conftest import (  # type: ignore[import-not-found]
    OFFICE,
    UNIT1,
    UNIT2,
    Receiver,
    fast_settings,
    fed_back_issue,
    make_emit,
    seed_directory,
    wait_until,
)


def deadline(day: int) -> DeadlineSet:
    return DeadlineSet(deadline=date(2026, 2, day), change=DeadlineChange.COMMITTED, plan="按期整改")


async def register(svc: Any, actor: Any, url: str, **body: Any) -> dict[str, Any]:
    resp = await svc.client.post("/v1/webhooks", json={"url": url, **body}, headers=svc.headers(actor))
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_signed_ordered_own_unit_only_in_three_formats(nats_server: NatsServer, tmp_path: Path, keys: Any) -> None:
    plain, wecom, ding = Receiver(), Receiver(), Receiver()
    for r in (plain, wecom, ding):
        await r.start()
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        sub = await register(svc, UNIT1, plain.url)
        await register(svc, UNIT1, wecom.url, format="wecom", event_types=["IssueReported"], reminders=False)
        await register(svc, OFFICE, ding.url, format="dingtalk", unit_id="U1", event_types=["DeadlineSet"], reminders=False)
        other = await svc.client.post("/v1/webhooks", json={"url": plain.url, "unit_id": "U2"}, headers=svc.headers(UNIT1))
        assert other.status_code == 403
        seqs = []
        for i in range(4):
            seqs.append((await fed_back_issue(emit, f"问题{i}", f"P{i}", "U1")).last_sequence)
            await fed_back_issue(emit, f"别的单位问题{i}", f"Q{i}", "U2")
        seqs.append((await emit(deadline(20), "P0", "U1", actor=UNIT1)).last_sequence)
        await wait_until(lambda: len(plain.accepted) >= 11 and len(wecom.accepted) >= 4 and ding.accepted)
        # plain JSON: every disclosed U1 event (registration, a person, 4 problems fed back, 1 deadline), in order
        bodies = [json.loads(b) for _h, b in plain.accepted]
        assert [b["event"]["unit_id"] for b in bodies] == ["U1"] * len(bodies)
        assert [b["sequence"] for b in bodies] == sorted(b["sequence"] for b in bodies)
        assert set(seqs) <= {b["event"]["sequence"] for b in bodies}  # the source log sequence
        for headers, body in plain.accepted:
            assert formats.verify(sub["secret"], body, headers["x-ducha-signature"], now=time.time())
            assert headers["x-ducha-delivery"] == json.loads(body)["delivery_id"]
        first_headers, first_body = plain.accepted[0]
        assert not formats.verify("wrong", first_body, first_headers["x-ducha-signature"], now=time.time())
        # a captured delivery replayed after the tolerance is refused by the receiver's check
        assert not formats.verify(sub["secret"], first_body, first_headers["x-ducha-signature"],
                                  now=time.time() + formats.SIGNATURE_TOLERANCE_SECONDS + 60)
        ids = [h["x-ducha-delivery"] for h, _b in plain.accepted]
        assert len(ids) == len(set(ids))
        # WeCom robot markdown, filtered to IssueReported
        w = [json.loads(b) for _h, b in wecom.accepted]
        assert [x["msgtype"] for x in w] == ["markdown"] * 4
        assert "【上报问题】" in w[0]["markdown"]["content"] and "问题0" in w[0]["markdown"]["content"]
        # DingTalk robot markdown: title + text
        d = json.loads(ding.accepted[0][1])
        assert d["msgtype"] == "markdown" and d["markdown"]["title"] == "【设定整改时限】"
        assert "2026-02-20" in d["markdown"]["text"]
        # the subscription shows its deliveries; another unit cannot see it
        async def delivered() -> int:
            info = await svc.client.get(f"/v1/webhooks/{sub['subscription_id']}", headers=svc.headers(UNIT1))
            return int(info.json()["deliveries"].get("delivered", 0))

        await wait_until(lambda: _ge(delivered(), 7))
        hidden = await svc.client.get(f"/v1/webhooks/{sub['subscription_id']}", headers=svc.headers(UNIT2))
        assert hidden.status_code == 404
    for r in (plain, wecom, ding):
        await r.stop()


# enough attempts (about 100 s) that a loaded machine never dead-letters while the receiver is down
def patient() -> Any:
    return fast_settings(webhook_max_attempts=100, webhook_backoff_max_seconds=1.0)


def at_least_once_in_order(received: list[tuple[dict[str, str], bytes]]) -> list[str]:
    """The receiver's view of the promise: deduplicated by `X-Ducha-Delivery`, the titles in
    order; a repeat carries an id already seen, for the same event, and only right after it was
    first sent (a retry of an attempt that was not recorded)."""
    seen: dict[str, bytes] = {}
    titles: list[str] = []
    for headers, body in received:
        did = headers["x-ducha-delivery"]
        event = json.loads(body)["event"]
        if did in seen:
            assert json.loads(seen[did])["event"] == event, "one delivery id, one event"
            assert did == list(seen)[-1], "a repeat is the latest delivery again, never an older one"
            continue
        seen[did] = body
        titles.append(event["payload"]["title"])
    return titles


async def test_down_receiver_gets_everything_in_order_at_least_once_across_a_restart(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    receiver = Receiver()  # not started: connection refused
    database = fresh_database_url(tmp_path, "notify")
    async with run_service(spec(patient()), nats_server.url, tmp_path, keys, database=database) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        sub = await register(svc, UNIT1, receiver.url, event_types=["IssueReported"])
        for i in range(3):
            await fed_back_issue(emit, f"问题{i}", f"P{i}", "U1")
        # it keeps trying while the receiver is down
        await wait_until(lambda: _ge(_attempts(svc, sub["subscription_id"]), 3), timeout=30)
        await receiver.start()
        await wait_until(lambda: len(at_least_once_in_order(receiver.accepted)) >= 3, timeout=30)
        await wait_until(lambda: _ge(_delivered(svc, sub["subscription_id"]), 3), timeout=30)
    # the service is stopped; more events arrive meanwhile; the receiver goes down again
    await receiver.stop()
    async with run_service(spec(patient()), nats_server.url, tmp_path, keys, database=database) as svc:
        emit = make_emit(svc.kernel.commands)
        for i in range(3, 6):
            await fed_back_issue(emit, f"问题{i}", f"P{i}", "U1")
        await receiver.start()
        await wait_until(lambda: len(at_least_once_in_order(receiver.accepted)) >= 6, timeout=30)
        assert at_least_once_in_order(receiver.accepted) == [f"问题{i}" for i in range(6)]
        failed = await svc.client.get(f"/v1/webhooks/{sub['subscription_id']}/deliveries",
                                      headers=svc.headers(UNIT1))
        assert max(d["attempts"] for d in failed.json()) > 1  # the attempts were recorded
        assert {d["last_error"] for d in failed.json()} <= {"", "connection failed"}
    await receiver.stop()


async def _delivered(svc: Any, sid: str) -> int:
    info = await svc.client.get(f"/v1/webhooks/{sid}", headers=svc.headers(UNIT1))
    return int(info.json()["deliveries"].get("delivered", 0))


async def _attempts(svc: Any, sid: str) -> int:
    loaded = await svc.kernel.store.load(AggregateKey("notify", "subscription", sid))
    return sum(1 for e in loaded.events if e.event_type == "WebhookDeliveryAttempted")


async def _ge(value: Any, expected: int) -> bool:
    return (await value) >= expected


async def test_dead_letter_after_limit_then_replay(nats_server: NatsServer, tmp_path: Path, keys: Any) -> None:
    receiver = await Receiver(status=500).start()
    async with run_service(spec(fast_settings(webhook_max_attempts=3)), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        sub = await register(svc, UNIT1, receiver.url, event_types=["IssueReported"])
        sid = sub["subscription_id"]
        await fed_back_issue(emit, "问题A", "PA", "U1")
        await fed_back_issue(emit, "问题B", "PB", "U1")

        async def dead() -> int:
            resp = await svc.client.get(f"/v1/webhooks/{sid}/deliveries?status=dead", headers=svc.headers(UNIT1))
            return len(resp.json())

        await wait_until(lambda: _eq(dead(), 2))
        assert len(receiver.requests) == 6  # 3 attempts each, then given up
        # only the status is kept, never what the receiver answered
        deliveries = await svc.client.get(f"/v1/webhooks/{sid}/deliveries", headers=svc.headers(UNIT1))
        assert {d["last_error"] for d in deliveries.json()} == {"HTTP 500"}
        loaded = await svc.kernel.store.load(AggregateKey("notify", "subscription", sid))
        assert all(Receiver.SECRET_ANSWER not in e.payload.model_dump_json() for e in loaded.events)
        receiver.status = 200
        resp = await svc.client.post(f"/v1/webhooks/{sid}/replay", json={"from_sequence": 1},
                                     headers=svc.headers(UNIT1))
        assert resp.status_code == 200
        await wait_until(lambda: len(receiver.accepted) >= 2)
        titles = [json.loads(b)["event"]["payload"]["title"] for _h, b in receiver.accepted]
        assert titles == ["问题A", "问题B"]
        old_ids = {h["x-ducha-delivery"] for h, _b, s in receiver.requests if s == 500}
        assert not old_ids & {h["x-ducha-delivery"] for h, _b in receiver.accepted}
    await receiver.stop()


async def _eq(value: Any, expected: int) -> bool:
    return (await value) == expected


async def test_bad_url_and_slow_receiver_block_nobody(nats_server: NatsServer, tmp_path: Path, keys: Any) -> None:
    # The slow receiver holds each request far longer than the test waits, and the bad targets are
    # retried 100 times: a good receiver queued behind either would not get its events in time.
    slow, good = await Receiver(delay=600.0).start(), await Receiver().start()
    settings = fast_settings(webhook_timeout_seconds=60.0, webhook_max_attempts=100, webhook_backoff_max_seconds=1.0)
    async with run_service(spec(settings), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        await register(svc, UNIT1, "http://127.0.0.1:9/nothing-listens-here", event_types=["IssueReported"])
        await register(svc, UNIT1, "http://no-such-host.invalid/hook", event_types=["IssueReported"])
        await register(svc, UNIT1, slow.url, event_types=["IssueReported"])
        await register(svc, UNIT1, good.url, event_types=["IssueReported"])
        for i in range(5):
            await fed_back_issue(emit, f"问题{i}", f"P{i}", "U1")
        await wait_until(lambda: len(good.accepted) >= 5, timeout=45)
        assert len(slow.accepted) == 0  # still holding its first request
    await slow.stop()
    await good.stop()
