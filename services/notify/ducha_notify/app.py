"""Wiring of the notify service: its projections, routes and background work.

Department event streams (the DUCHA_DEPT stream, webhooks, SSE; NATS users via
`python -m ducha_notify.natsauth`),
reminders and escalations, inbox, digests and bulletins.
"""

from __future__ import annotations

from typing import Any

from ducha.kernel.service import ServiceSpec
from ducha.kernel.service import create_app as create_service_app
from fastapi import FastAPI

from .mail import Mailer
from .settings import NotifySettings


async def startup(kernel: Any) -> None:
    """Settings production requires are checked here, so a wrong one stops the start; the lease
    bucket through which instances share the work is opened."""
    from .leases import Leases
    from .runtime import runtime

    rt = runtime(kernel)
    rt.leases = await Leases.open(kernel.nc.jetstream(timeout=10), rt.settings.lease_seconds,
                                  kernel.settings.stream_replicas)


async def webhook_dispatcher(kernel: Any) -> None:
    from .runtime import runtime
    from .webhooks import WebhookDispatcher

    rt = runtime(kernel)
    rt.webhooks = WebhookDispatcher(kernel, rt.settings, rt.key, rt.allow, rt.leases)
    await rt.webhooks.run()


async def notification_sender(kernel: Any) -> None:
    from .runtime import runtime
    from .sender import NotificationSender

    rt = runtime(kernel)
    rt.sender = NotificationSender(kernel, rt)
    await rt.leases.hold("sender", rt.sender.run)


async def dept_publisher(kernel: Any) -> None:
    from .deptstream import DeptPublisher
    from .runtime import runtime

    rt = runtime(kernel)
    rt.dept = DeptPublisher(kernel, rt.settings.dept_consumers)
    await rt.dept.run()


async def reminder_scan(kernel: Any) -> None:
    from .reminders import scan_loop
    from .runtime import runtime

    await runtime(kernel).leases.hold("scan", lambda: scan_loop(kernel))


def _projections() -> list[Any]:
    from .bulletins import BulletinsProjection
    from .deptstream import DepartmentOutbox
    from .directory import DirectoryProjection
    from .notifications import NotificationsProjection
    from .projections import SubscriptionsProjection

    return [SubscriptionsProjection(), DirectoryProjection(), NotificationsProjection(), BulletinsProjection(),
            DepartmentOutbox()]


def _reactions() -> list[Any]:
    from .reminders import Reminders

    return [Reminders()]


def _routers() -> list[Any]:
    from . import api_asyncapi, api_bulletins, api_dept, api_notify, api_webhooks, streams

    return [api_webhooks.router, streams.router, api_dept.router, api_notify.router, api_bulletins.router,
            api_asyncapi.router]


def spec(settings: NotifySettings | None = None, mailer: Mailer | None = None) -> ServiceSpec:
    """The service; tests pass their own settings (fast retries) and may pass a mailer."""
    service = ServiceSpec(
        name="notify",
        title="Ducha notify (通知与通报)",
        default_port=8104,
        start_order=40,  # `ducha run`: the event flow
        description="Department event streams, reminders and escalations, digests and bulletins.",
        projections=_projections,
        routers=_routers,
        reactions=_reactions,
        background=(dept_publisher, webhook_dispatcher, notification_sender, reminder_scan),
        startup=startup,
    )
    # ServiceSpec has no field for a service's own configuration; runtime() reads these.
    service.notify_settings = settings  # type: ignore[attr-defined]
    service.notify_mailer = mailer  # type: ignore[attr-defined]
    return service


def create_app() -> FastAPI:
    """Factory for uvicorn (`--factory`) and tests; settings come from the environment."""
    return create_service_app(spec(NotifySettings()))
