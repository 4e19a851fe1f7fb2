"""What the notify service's handlers and jobs share in one process: settings, the webhook key,
the mail sender, the running dispatchers. Created on first use from the spec's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .mail import Mailer, SmtpMailer
from .outbound import AllowList
from .settings import NotifySettings, webhook_key


@dataclass
class Runtime:
    settings: NotifySettings
    key: bytes
    mailer: Mailer
    allow: AllowList = field(default_factory=AllowList)
    leases: Any = None  # Leases, opened when the service starts
    webhooks: Any = None  # WebhookDispatcher once started
    sender: Any = None  # NotificationSender once started
    dept: Any = None  # DeptPublisher once started
    extras: dict[str, Any] = field(default_factory=dict)

    def poke_webhooks(self, subscription_id: str | None = None) -> None:
        if self.webhooks is not None:
            self.webhooks.poke(subscription_id)


def runtime(kernel: Any) -> Runtime:
    rt: Runtime | None = kernel.extras.get("notify")
    if rt is None:
        # ServiceSpec has no slot for a service's own configuration: spec() sets these attributes.
        settings = getattr(kernel.spec, "notify_settings", None) or NotifySettings()
        mailer = getattr(kernel.spec, "notify_mailer", None) or SmtpMailer(settings)
        rt = Runtime(settings=settings, key=webhook_key(settings, kernel.settings.data_dir, kernel.settings.production), mailer=mailer,
                     allow=AllowList.parse(settings.webhook_allow))
        kernel.extras["notify"] = rt
    return rt


async def wait_or_timeout(event: Any, timeout: float) -> None:
    """Wait until `event` is set or `timeout` passes.

    On Python 3.11 both `asyncio.wait_for` and `asyncio.timeout` can lose a cancellation that
    arrives just as the timeout fires; the stopping task then loops on forever. So a
    cancellation requested meanwhile is raised here in any case."""
    import asyncio

    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
