"""Outbound safety: internal targets are refused at registration and again before each request;
the allow-list opens named networks and hosts; the request goes to the checked address; no
redirects; only fixed reasons are kept. Signatures carry a timestamp; production needs the key."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from ducha.contracts import registry
from ducha.kernel.config import ConfigError
from ducha.kernel.natsserver import NatsServer
from ducha.testing.plugin import run_service
from ducha_notify.app import spec
from ducha_notify.settings import NotifySettings, webhook_key
from ducha_notify.webhooks import formats
from ducha_notify.webhooks.domain import SubscriptionState
from ducha_notify.webhooks.outbound import REFUSED_ADDRESS, AllowList, Poster, checked_address
from ducha_notify.webhooks.sealing import SealBroken, has_secret, open_sealed, redact, seal

from .conftest import (  # type: ignore[import-not-found]
    UNIT1,
    Receiver,
    fast_settings,
    fed_back_issue,
    make_emit,
    seed_directory,
    wait_until,
)

INTERNAL = [
    "http://127.0.0.1:8104/hook", "http://localhost/hook", "http://[::1]/hook", "http://2130706433/hook",
    "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/hook", "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook", "https://192.168.1.1/hook", "http://224.0.0.1/hook",
    "http://100.64.0.1/hook", "http://127.1/hook",
]


async def test_internal_targets_are_refused_at_registration(nats_server: NatsServer, tmp_path: Path,
                                                            keys: Any) -> None:
    async with run_service(spec(fast_settings(webhook_allow="")), nats_server.url, tmp_path, keys) as svc:
        for url in INTERNAL:
            resp = await svc.client.post("/v1/webhooks", json={"url": url}, headers=svc.headers(UNIT1))
            assert resp.status_code == 422, (url, resp.text)
            assert resp.json()["error"]["field"] == "url"
        for url in ("ftp://example.com/x", "file:///etc/passwd"):
            resp = await svc.client.post("/v1/webhooks", json={"url": url}, headers=svc.headers(UNIT1))
            assert resp.status_code == 422, url
        listed = await svc.client.get("/v1/webhooks", headers=svc.headers(UNIT1))
        assert listed.json() == []


async def test_the_address_is_checked_again_before_each_request() -> None:
    receiver = await Receiver().start()
    try:
        # what the registration allowed may point inside by now (DNS rebinding): refused, not sent
        async with Poster(AllowList(), timeout=2) as poster:
            outcome = await poster.post(receiver.url, b"{}", {})
        assert (outcome.ok, outcome.reason) == (False, REFUSED_ADDRESS)
        assert receiver.requests == []
        # an allow-listed host name: connected to the address checked, the name kept in Host
        async with Poster(AllowList.parse("localhost"), timeout=2) as poster:
            outcome = await poster.post(f"http://localhost:{receiver.port}/hook", b"{}", {})
        assert outcome.ok, outcome
        assert receiver.requests[-1][0]["host"] == f"localhost:{receiver.port}"
        # redirects are not followed; the answer's body is not kept
        receiver.status = 302
        async with Poster(AllowList.parse("127.0.0.0/8"), timeout=2) as poster:
            outcome = await poster.post(receiver.url, b"{}", {})
        assert (outcome.ok, outcome.status_code, outcome.reason) == (False, 302, "HTTP 302")
    finally:
        await receiver.stop()


async def test_allow_list_takes_networks_addresses_and_names() -> None:
    allow = AllowList.parse("10.8.0.0/16, 192.168.3.7 ; hooks.gov.example., [fd00::1]")
    assert str(await checked_address("http://10.8.4.5/x", allow)) == "10.8.4.5"
    assert str(await checked_address("http://192.168.3.7/x", allow)) == "192.168.3.7"
    assert str(await checked_address("http://[fd00::1]/x", allow)) == "fd00::1"
    assert allow.allows_host("HOOKS.gov.example")
    for url in ("http://10.9.0.1/x", "http://192.168.3.8/x", "http://[fd00::2]/x"):
        with pytest.raises(Exception, match="internal address"):
            await checked_address(url, allow)


async def test_a_hanging_dns_lookup_is_a_bounded_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading

    from ducha_notify.webhooks import outbound

    release = threading.Event()

    def hangs(*_args: Any, **_kwargs: Any) -> Any:
        release.wait(30)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", hangs)
    started = time.monotonic()
    try:
        with pytest.raises(outbound.TargetRefused) as caught:
            await outbound.resolve("receiver.example.cn", 443, timeout=0.3)
        assert caught.value.reason == outbound.DNS_FAILED
        assert time.monotonic() - started < 10  # bounded by the timeout, not by the resolver
    finally:
        release.set()


def test_signature_covers_timestamp_and_body() -> None:
    body, now = b'{"a":1}', int(time.time())
    header = formats.sign("s3cret", body, now)
    assert header.startswith(f"t={now},v1=")
    assert formats.verify("s3cret", body, header, now=now + 10)
    assert not formats.verify("s3cret", body + b" ", header, now=now)
    assert not formats.verify("s3cret", body, header.replace(f"t={now}", f"t={now + 1}"), now=now)
    assert not formats.verify("s3cret", body, header, now=now + formats.SIGNATURE_TOLERANCE_SECONDS + 1)
    assert not formats.verify("s3cret", body, "sha256=abc", now=now)


def test_production_refuses_to_start_without_the_webhook_key(tmp_path: Path) -> None:
    # the startup hook builds the runtime with this: production (DUCHA_PRODUCTION) stops the start
    with pytest.raises(ConfigError, match="DUCHA_NOTIFY_WEBHOOK_KEY"):
        webhook_key(NotifySettings(), tmp_path, production=True)
    assert not (tmp_path / "notify-webhook.key").exists()
    assert len(webhook_key(NotifySettings(), tmp_path)) == 64  # development: a key file


def test_secret_parts_of_urls_are_masked_and_sealed() -> None:
    wecom = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
    assert redact(wecom) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"
    assert redact("https://oapi.dingtalk.com/robot/send?access_token=abc") == \
        "https://oapi.dingtalk.com/robot/send?access_token=***"
    assert redact("https://u:pw@hooks.example.cn:8443/a/b") == "https://***@hooks.example.cn:8443/a/b"
    assert redact("https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d4e5f6a7b8c9d") == \
        "https://open.feishu.cn/open-apis/bot/v2/hook/***"
    assert not has_secret("https://hooks.example.cn/ducha/events")
    key = b"k" * 32
    token = seal(key, wecom)
    assert "693a91f6" not in token and open_sealed(key, token) == wecom
    with pytest.raises(SealBroken):
        open_sealed(b"another-key" * 3, token)


async def test_robot_keys_never_reach_the_log_and_still_reach_the_robot(nats_server: NatsServer, tmp_path: Path,
                                                                       keys: Any) -> None:
    robot = await Receiver().start()
    async with run_service(spec(fast_settings()), nats_server.url, tmp_path, keys) as svc:
        emit = make_emit(svc.kernel.commands)
        await seed_directory(emit)
        url = f"{robot.url}?key=ROBOT-KEY-5f1e9c2a77&x=1"
        resp = await svc.client.post("/v1/webhooks", json={"url": url, "format": "wecom",
                                                           "event_types": ["IssueReported"]},
                                     headers=svc.headers(UNIT1))
        assert resp.status_code == 201, resp.text
        assert resp.json()["subscription_id"]
        assert resp.json()["url"] == f"{robot.url}?key=***&x=***"
        await fed_back_issue(emit, "问题甲", "P1", "U1")
        await wait_until(lambda: robot.accepted)
        assert robot.accepted[0][0][":target"] == "/hook?key=ROBOT-KEY-5f1e9c2a77&x=1"
        listed = await svc.client.get("/v1/webhooks", headers=svc.headers(UNIT1))
        assert [s["url"] for s in listed.json()] == [f"{robot.url}?key=***&x=***"]
        stored = [data async for _env, data in svc.kernel.store.read_subject_raw("ducha.ev.notify.>", 0)]
        assert stored and not any(b"ROBOT-KEY" in data for data in stored)
        # a registration stored before v2 (URL in clear) is still read, and still delivers there
        (raw,) = [d for d in stored if b'"SubscriptionRegistered"' in d]
        old = json.loads(raw)
        old["schema_version"] = 1
        old["payload"].pop("sealed_url")
        old["payload"]["url"] = "http://old.example.cn/hook?key=plain"
        env = registry.decode(json.dumps(old).encode())
        assert env.schema_version == 2 and env.payload.sealed_url == ""  # type: ignore[attr-defined]
        state = SubscriptionState.fold([env])
        assert state.target(b"any") == "http://old.example.cn/hook?key=plain"
    await robot.stop()
