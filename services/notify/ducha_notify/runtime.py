"""What the notify service's handlers and jobs share in one process: settings, the webhook key,
the mail sender, the lease holder and the running workers. Made once when the service starts
(`app.py`), kept in `kernel.extras["notify"]`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .leases import Leases
from .notifications.mail import Mailer
from .settings import NotifySettings
from .webhooks.outbound import AllowList

if TYPE_CHECKING:
    from ducha.kernel.service import Kernel

    from .deptstream.publisher import DeptPublisher
    from .notifications.sender import NotificationSender
    from .webhooks.dispatcher import WebhookDispatcher

KEY = "notify"


@dataclass
class Runtime:
    settings: NotifySettings
    key: bytes
    mailer: Mailer
    leases: Leases
    allow: AllowList = field(default_factory=AllowList)
    webhooks: WebhookDispatcher | None = None  # once started
    sender: NotificationSender | None = None  # once started
    dept: DeptPublisher | None = None  # once started

    def install(self, kernel: Kernel) -> None:
        kernel.extras[KEY] = self

    def poke_webhooks(self, subscription_id: str | None = None) -> None:
        if self.webhooks is not None:
            self.webhooks.poke(subscription_id)

    def poke_sender(self) -> None:
        if self.sender is not None:
            self.sender.poke()


def runtime(kernel: Kernel) -> Runtime:
    rt: Runtime = kernel.extras[KEY]
    return rt


async def wait_or_timeout(event: asyncio.Event, timeout: float) -> None:
    """Wait until `event` is set or `timeout` passes.

    On Python 3.11 both `asyncio.wait_for` and `asyncio.timeout` can lose a cancellation that
    arrives just as the timeout fires; the stopping task then loops on forever. So a
    cancellation requested meanwhile is raised here in any case."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
