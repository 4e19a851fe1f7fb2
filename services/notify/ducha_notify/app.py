"""The notify service: its ServiceSpec and the one place it is wired together.

Department event streams (`deptstream/`: the DUCHA_DEPT stream, its consumers, SSE, the AsyncAPI
catalogue; NATS users via `python -m ducha_notify.natsauth`), webhooks (`webhooks/`), reminders,
escalations, inbox and the mail/robot sender (`notifications/`), digests (`digest/`) and bulletins
(`bulletins/`), all deciding on notify's picture of the world (`directory/`). `settings.py` is
the only place reading the environment; `runtime.py` what handlers and jobs share in one process.

Settings and the mail sender are passed in (`spec(settings, mailer)`), read from the environment
only when the app is created or the service starts, never at import.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import APIRouter, FastAPI

from .notifications.mail import Mailer, SmtpMailer
from .settings import NotifySettings, webhook_key

if TYPE_CHECKING:
    from ducha.kernel.projection import Projection
    from ducha.kernel.reaction import Reaction
    from ducha.kernel.service import Kernel

Job = Callable[["Kernel"], Coroutine[Any, Any, None]]


def _startup(settings: NotifySettings | None, mailer: Mailer | None) -> Job:
    async def startup(kernel: Kernel) -> None:
        """Settings production requires are checked here, so a wrong one stops the start; the
        lease bucket through which instances share the work is opened."""
        from .leases import Leases
        from .runtime import Runtime
        from .webhooks.outbound import AllowList

        resolved = settings or NotifySettings()
        key = webhook_key(resolved, kernel.settings.data_dir, kernel.settings.production)
        leases = await Leases.open(kernel.nc.jetstream(timeout=10), resolved.lease_seconds,
                                   kernel.settings.stream_replicas)
        Runtime(settings=resolved, key=key, mailer=mailer or SmtpMailer(resolved),
                allow=AllowList.parse(resolved.webhook_allow), leases=leases).install(kernel)

    return startup


async def webhook_dispatcher(kernel: Kernel) -> None:
    from .runtime import runtime
    from .webhooks.dispatcher import WebhookDispatcher

    rt = runtime(kernel)
    rt.webhooks = WebhookDispatcher(kernel, rt.settings, rt.key, rt.allow, rt.leases)
    await rt.webhooks.run()


async def notification_sender(kernel: Kernel) -> None:
    from .notifications.sender import NotificationSender
    from .runtime import runtime

    rt = runtime(kernel)
    sender = rt.sender = NotificationSender(kernel, rt)
    await rt.leases.hold("sender", sender.run)


async def dept_publisher(kernel: Kernel) -> None:
    from .deptstream.publisher import DeptPublisher
    from .runtime import runtime

    rt = runtime(kernel)
    rt.dept = DeptPublisher(kernel, rt.settings.dept_consumers)
    await rt.dept.run()


async def reminder_scan(kernel: Kernel) -> None:
    from .notifications.jobs import scan_job
    from .runtime import runtime

    await runtime(kernel).leases.hold("scan", lambda: scan_job(kernel))


def _projections() -> list[Projection]:
    from .bulletins.projection import BulletinsProjection
    from .deptstream.projection import DepartmentOutbox
    from .directory.projection import DirectoryProjection
    from .notifications.projection import NotificationsProjection
    from .webhooks.projection import SubscriptionsProjection

    return [SubscriptionsProjection(), DirectoryProjection(), NotificationsProjection(), BulletinsProjection(),
            DepartmentOutbox()]


def _reactions() -> list[Reaction]:
    from .notifications.reactions import Reminders

    return [Reminders()]


def _routers() -> list[APIRouter]:
    from .bulletins import api as bulletins
    from .deptstream import api as deptstream
    from .deptstream import asyncapi, sse
    from .digest import api as digest
    from .notifications import api as notifications
    from .webhooks import api as webhooks

    return [webhooks.router, sse.router, deptstream.router, notifications.router, digest.router,
            bulletins.router, asyncapi.router]


def spec(settings: NotifySettings | None = None, mailer: Mailer | None = None) -> ServiceSpec:
    """The service; tests pass their own settings (fast retries) and may pass a mailer. Without
    settings they are read from the environment (`DUCHA_NOTIFY_*`) when the service starts."""
    return ServiceSpec(
        name="notify",
        title="Ducha notify (通知与通报)",
        default_port=8104,
        description="Department event streams, reminders and escalations, digests and bulletins.",
        projections=_projections,
        routers=_routers,
        reactions=_reactions,
        background=(dept_publisher, webhook_dispatcher, notification_sender, reminder_scan),
        startup=_startup(settings, mailer),
        start_order=40,  # `ducha run`: the event flow
    )


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec(NotifySettings()))
