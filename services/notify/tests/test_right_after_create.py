"""Webhook subscriptions addressed right after they were registered, one answer shape for every
command, and Idempotency-Keys that count only for the unit that sent them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from ducha.kernel.natsserver import NatsServer
from ducha.testing.eventual import assert_not_yet_visible, assert_ok, projections_paused, send_at_once
from ducha.testing.plugin import run_service
from ducha_notify.app import spec

from .conftest import UNIT1, UNIT2, Receiver, fast_settings, make_emit, seed_directory  # type: ignore[import-not-found]


async def test_deliveries_listed_right_after_registering_never_answer_404(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
            await seed_directory(make_emit(svc.kernel.commands))

            async def life(n: int) -> None:
                sub = assert_ok(await send_at_once(svc, UNIT1, "POST", "/v1/webhooks",
                                                   {"url": receiver.url, "description": f"系统{n}"}), "register")
                assert sub["id"] == sub["subscription_id"] and sub["replayed"] is False
                listed = await svc.client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=svc.headers(UNIT1))
                while listed.status_code == 503:
                    assert listed.headers.get("Retry-After"), listed.text
                    listed = await svc.client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=svc.headers(UNIT1))
                assert listed.status_code == 200, listed.text
                replayed = assert_ok(await send_at_once(svc, UNIT1, "POST", f"/v1/webhooks/{sub['id']}/replay",
                                                        {"from_sequence": 1}), "replay")
                assert replayed["id"] == sub["id"] and replayed["sequence"] > sub["sequence"]

            await asyncio.gather(*(life(n) for n in range(20)))
            async with projections_paused(svc.kernel):
                lagging = assert_ok(await send_at_once(svc, UNIT1, "POST", "/v1/webhooks", {"url": receiver.url}),
                                    "register while the projection lags")
                r = await svc.client.get(f"/v1/webhooks/{lagging['id']}/deliveries", headers=svc.headers(UNIT1))
                assert_not_yet_visible(r, "deliveries while the projection lags")
            r = await svc.client.get(f"/v1/webhooks/{lagging['id']}/deliveries",
                                     params={"min_sequence": lagging["sequence"]}, headers=svc.headers(UNIT1))
            assert r.status_code == 200, r.text
            hidden = await svc.client.get("/v1/webhooks/nope/deliveries", headers=svc.headers(UNIT1))
            assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
            listing = (await svc.client.get("/v1/webhooks", headers=svc.headers(UNIT1))).json()
            assert len(listing) == 21 and all(s["event_types"] == [] for s in listing)
    finally:
        await receiver.stop()


async def test_a_unit_reusing_another_units_key_never_gets_its_signing_secret(
    nats_server: NatsServer, tmp_path: Path, keys: Any
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
            await seed_directory(make_emit(svc.kernel.commands))
            key = uuid.uuid4().hex

            async def register(who: Any) -> dict[str, Any]:
                r = await svc.client.post("/v1/webhooks", json={"url": receiver.url},
                                          headers=svc.headers(who, **{"Idempotency-Key": key}))
                assert r.status_code == 201, r.text
                return r.json()  # type: ignore[no-any-return]

            mine = await register(UNIT1)
            theirs = await register(UNIT2)
            assert theirs["unit_id"] == "U2" and not theirs["replayed"]
            assert theirs["id"] != mine["id"] and theirs["secret"] != mine["secret"]
            again = await register(UNIT1)  # the same unit resending: the stored result
            assert again == {**mine, "replayed": True}
            secret = await svc.client.get(f"/v1/webhooks/{mine['id']}/secret", headers=svc.headers(UNIT2))
            assert secret.status_code == 404
    finally:
        await receiver.stop()
