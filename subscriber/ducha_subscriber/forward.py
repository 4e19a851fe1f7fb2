"""Forward each event to an HTTP endpoint of the department's own system (e.g. its OA), signed,
in order: the next event is not sent before this one was answered 2xx (the follower retries).

Each request is a `POST` of the disclosed event exactly as received (JSON), with
`X-Ducha-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>`,
`X-Ducha-Delivery-Id: <department>:<event id>` (stable: a crash between sending and recording can
repeat a delivery, so deduplicate on it), `X-Ducha-Sequence` (DUCHA_DEPT sequence) and
`X-Ducha-Event-Type`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.error
import urllib.request
from typing import Any

from ducha_contracts import DisclosedEvent


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verified(secret: str, body: bytes, header: str) -> bool:
    """For the receiving side: check the signature before parsing the body."""
    return hmac.compare_digest(signature(secret, body), header)


class DeliveryFailed(RuntimeError):
    pass


class ForwardSink:
    name = "forward"

    def __init__(self, url: str, secret: str, department: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the forward URL must be http:// or https://")
        self.url = url
        self.secret = secret
        self.department = department
        self.timeout = timeout

    def headers(self, event: DisclosedEvent[Any], body: bytes, stream_sequence: int) -> dict[str, str]:
        return {"Content-Type": "application/json; charset=utf-8",
                "X-Ducha-Signature": signature(self.secret, body),
                "X-Ducha-Delivery-Id": f"{self.department}:{event.event_id}",
                "X-Ducha-Sequence": str(stream_sequence), "X-Ducha-Event-Type": event.event_type}

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"{self.url} answered {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"{self.url}: {exc}") from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"{self.url} answered {status}")

    async def send(self, event: DisclosedEvent[Any], body: bytes, stream_sequence: int) -> None:
        await asyncio.to_thread(self._post, body, self.headers(event, body, stream_sequence))
