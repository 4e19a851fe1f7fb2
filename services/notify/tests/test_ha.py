"""Two real notify processes share the work through leases in NATS: each webhook delivery and each
mail is sent by one of them; when the one delivering is killed (SIGKILL) the other takes over within
seconds, nothing is lost, and the only repeat is the delivery in flight, with the same id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from ducha.contracts import registry
from ducha.kernel.clock import SystemClock
from ducha.kernel.commands import CommandRunner
from ducha.kernel.eventstore import EventStore
from ducha.kernel.identity import TokenIssuer
from ducha.kernel.natsserver import NatsServer, free_port
from ducha.testing.plugin import drop_schema, fresh_database_url
from ducha_notify.leases import BUCKET

from .conftest import (  # type: ignore[import-not-found]
    UNIT1,
    Receiver,
    fed_back_issue,
    make_emit,
    seed_directory,
    wait_until,
)
from .test_webhooks import at_least_once_in_order  # type: ignore[import-not-found]

LEASE_SECONDS = 3.0


class Instance:
    def __init__(self, index: int, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.log = tmp / f"notify-{index}.log"
        self.database = fresh_database_url(tmp / f"i{index}", "notify")
        (tmp / f"i{index}").mkdir(parents=True, exist_ok=True)
        url, schema = self.database
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ducha.kernel.serve", "notify", "--port", str(self.port)],
            env={**env, "DUCHA_DATA_DIR": str(tmp / f"i{index}" / "data"), "DUCHA_DATABASE_URL": url,
                 **({"DUCHA_DATABASE_SCHEMA": schema} if schema else {})},
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"notify exited:\n{self.log.read_text()[-3000:]}")
        try:
            async with httpx.AsyncClient(timeout=1) as http:
                return (await http.get(self.base + "/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        drop_schema(*self.database)


@pytest.fixture
def two_instances(nats_server: NatsServer, tmp_path: Path, keys: Any, smtp: Any) -> Iterator[list[Instance]]:
    key_file = tmp_path / "issuer.pub.pem"
    key_file.write_bytes(keys.public_pem)
    env = {
        **os.environ, "DUCHA_NATS_URL": nats_server.url, "DUCHA_JWT_PUBLIC_KEY_FILE": str(key_file),
        "DUCHA_NOTIFY_WEBHOOK_KEY": "ha-test-webhook-key-0123456789abcdef",
        "DUCHA_NOTIFY_WEBHOOK_ALLOW": "127.0.0.1/32", "DUCHA_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "DUCHA_NOTIFY_POLL_SECONDS": "0.1", "DUCHA_NOTIFY_WEBHOOK_BACKOFF_SECONDS": "0.05",
        "DUCHA_NOTIFY_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2", "DUCHA_NOTIFY_WEBHOOK_TIMEOUT_SECONDS": "2",
        "DUCHA_NOTIFY_SMTP_HOST": "127.0.0.1", "DUCHA_NOTIFY_SMTP_PORT": str(smtp.port), "DUCHA_NOTIFY_SEND_BACKOFF_SECONDS": "0.1",
        "DUCHA_NOTIFY_SCAN_INTERVAL_SECONDS": "3600",
    }
    instances = [Instance(i, env, tmp_path) for i in range(2)]
    try:
        yield instances
    finally:
        for inst in instances:
            inst.stop()


async def test_two_instances_each_side_effect_once_and_failover_on_sigkill(
    nats_server: NatsServer, keys: Any, smtp: Any, two_instances: list[Instance]
) -> None:
    for inst in two_instances:
        await wait_until(inst.healthy, timeout=90)
    nc = await nats.connect(nats_server.url)
    try:
        emit = make_emit(CommandRunner(EventStore(nc, registry), SystemClock(), "test"))
        await seed_directory(emit)
        receiver = await Receiver(delay=0.05).start()
        token = TokenIssuer(keys.private_pem).issue(UNIT1)
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.post(two_instances[0].base + "/v1/webhooks", headers={"Authorization": f"Bearer {token}"},
                                   json={"url": receiver.url, "event_types": ["IssueReported"]})
            assert resp.status_code == 201, resp.text
        sid = resp.json()["subscription_id"]
        titles = [f"问题{i}" for i in range(30)]
        fed_back = 0
        for i, title in enumerate(titles[:20]):  # fed back (交办): only then may the unit see a problem
            await fed_back_issue(emit, title, f"P{i}", "U1")
            fed_back += 1
        await wait_until(lambda: len(receiver.accepted) >= 5, timeout=30)

        # kill the instance that delivers to this subscription, in the middle of its deliveries
        kv = await nc.jetstream().key_value(BUCKET)
        owner = (await kv.get(f"webhook.{sid}")).value.decode()
        victim = next(inst for inst in two_instances if f".{inst.proc.pid}." in owner)
        survivor = next(inst for inst in two_instances if inst is not victim)
        victim.proc.send_signal(signal.SIGKILL)
        killed_at, received_before = time.monotonic(), len(receiver.requests)
        for i, title in enumerate(titles[20:], start=20):
            await fed_back_issue(emit, title, f"P{i}", "U1")
            fed_back += 1

        # the victim's request in flight may still land; one more is the survivor's for sure
        await wait_until(lambda: len(receiver.requests) > received_before + 1, timeout=30)
        failover = time.monotonic() - killed_at
        await wait_until(lambda: len(at_least_once_in_order(receiver.accepted)) >= len(titles), timeout=60)
        assert at_least_once_in_order(receiver.accepted) == titles  # nothing lost, in order
        repeats = len(receiver.accepted) - len(titles)
        assert repeats <= 1, "only the delivery in flight may come twice (with the same id)"
        assert failover < LEASE_SECONDS * 3, failover  # TTL + a renewal period, with room for a loaded machine
        owner = (await kv.get(f"webhook.{sid}")).value.decode()
        assert f".{survivor.proc.pid}." in owner

        # each mail once (a repeat only of a mail in flight, with the same Message-ID)
        addresses = ("u1@example.cn", "zhangsan@u1.example.cn")
        await wait_until(lambda: len({m["Message-ID"] for a in addresses for m in smtp.to(a)}) >= 2 * fed_back,
                         timeout=60)
        counts = Counter(m["Message-ID"] for a in addresses for m in smtp.to(a))
        assert len(counts) == 2 * fed_back
        assert max(counts.values()) <= 2
        print(f"\nfailover after SIGKILL: {failover:.2f} s; webhook repeats: {repeats}; "
              f"mail repeats: {sum(counts.values()) - len(counts)}")
        assert json.loads(receiver.accepted[0][1])["subscription_id"] == sid
        await receiver.stop()
    finally:
        await nc.close()
