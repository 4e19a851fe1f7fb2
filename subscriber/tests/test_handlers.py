"""The subscriber's FastStream application with FastStream's TestNatsBroker (no server): typed
handlers per event type, old versions upcast, forwarding signed and in order with retries, and an
event this installation cannot read stops it without acknowledging anything."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, ClassVar

from ducha_contracts import DisclosedEvent, IssueFedBack, PublicEvent, RectificationVerified, Registry
from ducha_subscriber import Credentials, Follower, ForwardSink, Handlers, build, verified
from faststream.nats import TestNatsBroker

CREDS = Credentials(user="unit-U1", password="pw", department="U1", name="城关区", inbox_prefix="_INBOX_U1",
                    stream="DUCHA_DEPT", subject="ducha.dept.U1.>", consumers=("dept-U1-1", "dept-U1-2"))


def message(event_type: str, payload: dict[str, Any], version: int = 1, aggregate_id: str = "P1") -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": version, "context": "intake",
            "aggregate_type": "problem", "aggregate_id": aggregate_id, "aggregate_version": 2, "unit_id": "U1",
            "actor": {"id": "T1", "name": "督查组", "role": "team", "team_id": "T1"},
            "occurred_at": "2026-01-06T02:00:00Z", "payload": payload, "sequence": 12, "redacted": ["actor"]}


FED_BACK = {"responsible_person": "张副区长", "commit_deadline_by": "2026-01-09", "max_deadline": "2026-03-31",
            "fed_back_at": "2026-01-06T02:00:00Z"}
VERIFIED = {"submission_no": 1, "effectiveness": "good", "assessment": "整改到位"}  # proposed_by redacted


async def test_typed_handlers_get_their_own_event_types_in_order() -> None:
    handlers = Handlers()
    seen: list[tuple[str, Any]] = []

    @handlers.on(IssueFedBack)
    async def fed_back(event: DisclosedEvent[IssueFedBack]) -> None:
        seen.append(("fed_back", event.payload.responsible_person))

    @handlers.on(RectificationVerified)
    async def accepted(event: DisclosedEvent[RectificationVerified]) -> None:
        seen.append(("verified", (event.payload.effectiveness.value, event.payload.proposed_by)))

    @handlers.on()
    async def every(event: DisclosedEvent[Any]) -> None:
        seen.append(("any", event.event_type))

    follower = Follower("U1", handlers=handlers)
    app, broker = build(CREDS, "nats://unused:4222", follower)
    async with TestNatsBroker(broker) as br:
        await br.publish(message("IssueFedBack", FED_BACK), "ducha.dept.U1.IssueFedBack")
        await br.publish(message("RectificationVerified", VERIFIED), "ducha.dept.U1.RectificationVerified")
    assert seen == [("fed_back", "张副区长"), ("any", "IssueFedBack"),
                    ("verified", ("good", None)), ("any", "RectificationVerified")]
    assert follower.processed == 2 and follower.failure is None


class Inspected(PublicEvent):
    event_type: ClassVar[str] = "Inspected"
    schema_version: ClassVar[int] = 2
    context: ClassVar[str] = "intake"
    aggregate_type: ClassVar[str] = "problem"
    findings: str
    on_site: bool


async def test_an_old_version_reaches_the_handler_upcast() -> None:
    contracts = Registry()
    contracts.register(Inspected)

    @contracts.upcaster("Inspected", 1)
    def _v1(p: dict[str, Any]) -> dict[str, Any]:
        return {"findings": p["text"], "on_site": True}

    handlers = Handlers()
    got: list[Inspected] = []

    @handlers.on(Inspected)
    async def on_inspected(event: DisclosedEvent[Inspected]) -> None:
        got.append(event.payload)

    app, broker = build(CREDS, "nats://unused:4222", Follower("U1", handlers=handlers, contracts=contracts))
    async with TestNatsBroker(broker) as br:
        await br.publish(message("Inspected", {"text": "台账不全"}, version=1), "ducha.dept.U1.Inspected")
        await br.publish(message("Inspected", {"findings": "已补齐", "on_site": False}, version=2), "ducha.dept.U1.Inspected")
    assert got == [Inspected(findings="台账不全", on_site=True), Inspected(findings="已补齐", on_site=False)]


async def test_an_event_from_a_newer_ducha_stops_the_subscriber_unhandled() -> None:
    handlers = Handlers()
    called: list[str] = []

    @handlers.on()
    async def every(event: DisclosedEvent[Any]) -> None:
        called.append(event.event_type)

    follower = Follower("U1", handlers=handlers)
    app, broker = build(CREDS, "nats://unused:4222", follower)
    async with TestNatsBroker(broker) as br:
        await br.publish(message("IssueFedBack", FED_BACK, version=9), "ducha.dept.U1.IssueFedBack")
        await br.publish(message("IssueFedBack", FED_BACK), "ducha.dept.U1.IssueFedBack")
    assert called == [] and follower.failure is not None and "upgrade ducha-contracts" in str(follower.failure)


class Receiver:
    """A local HTTP endpoint (a fake OA system) that fails its first `failures` requests."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes, int]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await reader.readexactly(int(headers["content-length"]))
        status = 503 if self.failures > 0 else 200
        self.failures -= 1
        self.requests.append((headers, body, status))
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


async def test_forwarding_is_signed_in_order_and_retried_until_accepted() -> None:
    receiver = Receiver(failures=2)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        forward = ForwardSink(f"http://127.0.0.1:{port}/ducha", "s3cret", "U1")
        follower = Follower("U1", forward=forward, retry_base=0.01, retry_max=0.05)
        app, broker = build(CREDS, "nats://unused:4222", follower)
        first, second = message("IssueFedBack", FED_BACK), message("RectificationVerified", VERIFIED)
        async with TestNatsBroker(broker) as br:
            await br.publish(first, "ducha.dept.U1.IssueFedBack")
            await br.publish(second, "ducha.dept.U1.RectificationVerified")
    finally:
        server.close()
        await server.wait_closed()
    statuses = [s for _h, _b, s in receiver.requests]
    assert statuses == [503, 503, 200, 200]
    delivered = [(h, b) for h, b, s in receiver.requests if s == 200]
    assert [json.loads(b)["event_id"] for _h, b in delivered] == [first["event_id"], second["event_id"]]
    for headers, body in delivered:
        assert verified("s3cret", body, headers["x-ducha-signature"])
        assert headers["x-ducha-delivery-id"] == f"U1:{json.loads(body)['event_id']}"
    assert not verified("other", delivered[0][1], delivered[0][0]["x-ducha-signature"])
