"""Fixtures for the notify tests: upstream events are appended directly (the other services are
built concurrently, so their code is never imported here)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

import pytest
from ducha.contracts import Actor, DomainEvent, Role
from ducha.contracts.common import FoundBy, Severity, UnitKind
from ducha.contracts.intake import (
    IssueReported,
    PersonRegistered,
    RoundOpened,
    TeamAssignedToUnits,
    TeamFormed,
    UnitRegistered,
)
from ducha.kernel.commands import CommandContext, CommandResult
from ducha.kernel.subjects import AggregateKey

OFFICE = Actor(id="office-1", name="办公室王五", role=Role.OFFICE)
SYSTEM = Actor(id="system", name="系统", role=Role.SYSTEM)

Emit = Callable[..., Coroutine[Any, Any, CommandResult]]


def make_emit(commands: Any) -> Emit:
    async def emit(payload: DomainEvent, agg_id: str, unit: str | None, actor: Actor = OFFICE,
                   command_id: str | None = None) -> CommandResult:
        key = AggregateKey(payload.context, payload.aggregate_type, agg_id, unit)
        ctx = CommandContext(actor, command_id or uuid.uuid4().hex)
        return await commands.run(key, ctx, lambda _l: [payload])

    return emit


async def seed_directory(emit: Emit) -> None:
    """Two units with contacts, a team, an office person and a cadre person, one round."""
    for uid, name, mail in (("U1", "城关区人民政府", "u1@example.cn"), ("U2", "市发展改革委", "u2@example.cn")):
        await emit(UnitRegistered(name=name, kind=UnitKind.DISTRICT, contact_name=f"{name}联络员",
                                  contact_email=mail), uid, uid)
    people = [
        ("p-u1", "张三", Role.UNIT, "U1", "zhangsan@u1.example.cn"),
        ("p-u2", "李四", Role.UNIT, "U2", "lisi@u2.example.cn"),
        ("p-t1", "赵组长", Role.TEAM, None, "zhao@team.example.cn"),
        ("p-o1", "王五", Role.OFFICE, None, "wangwu@office.example.cn"),
        ("p-c1", "钱六", Role.CADRE, None, "qian@cadre.example.cn"),
        ("p-h1", "孙七", Role.HELPER, "H1", "sun@helper.example.cn"),
    ]
    for pid, name, role, org, mail in people:
        await emit(PersonRegistered(name=name, role=role, org_id=org, email=mail), pid, org if role == Role.UNIT else None)
    await emit(RoundOpened(number=2, name="2026年第二轮常态化大督查", starts_on=date(2026, 1, 5),
                           ends_on=date(2026, 1, 12), focus_areas=("重大项目建设",)), "R2", None)
    await emit(TeamFormed(round_id="R2", name="第一督查督导组", leader_id="p-t1", leader_name="赵组长",
                          member_ids=("p-t1",), member_names=("赵组长",)), "T1", None)
    await emit(TeamAssignedToUnits(unit_ids=("U1", "U2")), "T1", None)


def issue(title: str = "项目审批超时", publishable: bool = True) -> IssueReported:
    return IssueReported(round_id="R2", team_id="T1", content_id="C1", title=title, description="审批材料积压",
                         category="重大项目建设", severity=Severity.GENERAL, found_on=date(2026, 1, 6),
                         found_by=FoundBy.ON_SITE, publishable=publishable)


async def fed_back_issue(emit: Emit, title: str, problem_id: str, unit: str, publishable: bool = True) -> CommandResult:
    """A problem reported and fed back (交办), so its unit may see it: the IssueReported result."""
    from datetime import UTC, datetime

    from ducha.contracts.intake import IssueFedBack

    result = await emit(issue(title, publishable), problem_id, unit)
    await emit(IssueFedBack(responsible_person="张副区长", commit_deadline_by=date(2026, 1, 9),
                            max_deadline=date(2026, 3, 31), fed_back_at=datetime(2026, 1, 6, 2, tzinfo=UTC)),
               problem_id, unit)
    return result


@pytest.fixture
def office() -> Actor:
    return OFFICE


# ------------------------------------------------------------ HTTP receiver
class Receiver:
    """A tiny real HTTP/1.1 server on 127.0.0.1 that records what it is sent. `status` and
    `delay` are what it answers; `stop()` closes it (connections too), `start()` opens it again
    on the same port."""

    SECRET_ANSWER = "internal-secret-7f3a"  # what a non-2xx answer says; must never reach the log

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        from ducha.kernel.natsserver import free_port

        self.port = free_port()
        self.status = status
        self.delay = delay
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self._server: Any = None
        self._writers: set[Any] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b, s in self.requests if 200 <= s < 300]

    async def start(self) -> Receiver:
        import asyncio

        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: Any, writer: Any) -> None:
        import asyncio

        self._writers.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                headers: dict[str, str] = {":target": line.decode().split(" ")[1]}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.status
                self.requests.append((headers, body, status))
                answer = "ok" if 200 <= status < 300 else self.SECRET_ANSWER
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n"
                             f"Content-Type: text/plain\r\n\r\n{answer}".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def fast_settings(**overrides: Any) -> Any:
    from ducha_notify.settings import NotifySettings

    values: dict[str, Any] = {
        "webhook_key": "test-webhook-key-of-at-least-32-characters", "webhook_allow": "127.0.0.1/32", "webhook_timeout_seconds": 1.0, "webhook_max_attempts": 60, "webhook_backoff_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.2, "poll_seconds": 0.1, "smtp_timeout_seconds": 2.0, "send_backoff_seconds": 0.1,
        "send_max_attempts": 3, "scan_interval_seconds": 3600.0,
    }
    values["smtp_host"] = "127.0.0.1"  # where the tests' SMTP server (or nothing) listens
    values.update(overrides)
    return NotifySettings(**values)


UNIT1 = Actor(id="p-u1", name="张三", role=Role.UNIT, unit_id="U1")
UNIT2 = Actor(id="p-u2", name="李四", role=Role.UNIT, unit_id="U2")


# ------------------------------------------------------------------- SMTP
class Inbox:
    """Messages received by a real local SMTP server (aiosmtpd)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, msg))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for rcpt, m in self.messages if rcpt == address]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]


@pytest.fixture
def smtp() -> Any:
    from aiosmtpd.controller import Controller
    from ducha.kernel.natsserver import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port  # type: ignore[attr-defined]
    try:
        yield inbox
    finally:
        controller.stop()

