"""Sending e-mail over SMTP (stdlib smtplib in a worker thread, with a timeout)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

from ..settings import NotifySettings


class Mailer(Protocol):
    async def send(self, to: str, to_name: str, subject: str, body: str, message_key: str) -> None:
        """Raise on failure; `ChannelUnconfigured` when no attempt can ever succeed."""


class ChannelUnconfigured(Exception):
    """The channel has no configuration (no SMTP server): retrying cannot help, so the attempt is
    recorded as the final one."""


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def _message(self, to: str, to_name: str, subject: str, body: str, message_key: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = formataddr((to_name, to)) if to_name else to
        msg["Subject"] = subject
        # Stable per (cause, address): a resend after a crash is recognisable as the same message.
        msg["Message-ID"] = f"<{message_key}@ducha.local>"
        msg["X-Ducha-Cause"] = message_key
        msg.set_content(body, charset="utf-8")
        return msg

    async def send(self, to: str, to_name: str, subject: str, body: str, message_key: str) -> None:
        host = self.settings.smtp_host
        if not host:
            raise ChannelUnconfigured("e-mail is not configured (DUCHA_NOTIFY_SMTP_HOST is unset)")
        msg = self._message(to, to_name, subject, body, message_key)

        def deliver() -> None:
            with smtplib.SMTP(host, self.settings.smtp_port,
                              timeout=self.settings.smtp_timeout_seconds) as smtp:
                smtp.send_message(msg)

        async with asyncio.timeout(self.settings.smtp_timeout_seconds + 5):
            await asyncio.to_thread(deliver)
