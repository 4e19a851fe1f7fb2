"""Requests to receivers outside: webhooks and robots. Nothing internal by default.

A target is refused when any address its host resolves to is loopback, private, link-local,
multicast, reserved, unspecified or otherwise not globally routable — unless the address is in an
allow-listed network or the host name itself is allow-listed (`DUCHA_NOTIFY_WEBHOOK_ALLOW`, for a
government intranet's own receivers). The check runs at registration and again before every
request; the request then goes to the very address that was checked (no second lookup an attacker's
DNS could answer differently), with the original host in `Host` and in TLS SNI / certificate
verification. Redirects are never followed. A failure is recorded as a short fixed reason; the
receiver's answer body is never read into the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Self

import httpx

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """The URL may not be called; `reason` is one of the fixed reasons below."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The only failure texts that are ever stored (never the receiver's own words).
REFUSED_ADDRESS = "refused: internal address"
REFUSED_URL = "refused: not an http(s) URL"
DNS_FAILED = "DNS lookup failed"
TIMEOUT = "timed out"
CONNECT_FAILED = "connection failed"
TLS_FAILED = "TLS error"
PROTOCOL_ERROR = "protocol error"
SEAL_BROKEN = "URL unreadable: the webhook key changed"


@dataclass(frozen=True)
class AllowList:
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> AllowList:
        """`10.8.0.0/16, 192.168.3.7, hooks.gov.example` — CIDRs, addresses and host names."""
        items = text.replace(";", ",").split(",") if isinstance(text, str) else list(text)
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in items:
            item = raw.strip().lower().strip("[]")
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IP) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)


def internal(ip: IP) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (not ip.is_global or ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def _host(url: httpx.URL) -> str:
    if url.scheme not in ("http", "https") or not url.host:
        raise TargetRefused(REFUSED_URL)
    return url.host


DNS_TIMEOUT_SECONDS = 5.0
_dns_pool: ThreadPoolExecutor | None = None


def _dns_executor() -> ThreadPoolExecutor:
    """Lookups run on threads of their own: a resolver that hangs (a receiver's slow DNS, a
    network without one) then holds only these, never the threads the service's SQL reads use."""
    global _dns_pool
    if _dns_pool is None:
        _dns_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ducha-dns")
    return _dns_pool


async def resolve(host: str, port: int, timeout: float = DNS_TIMEOUT_SECONDS) -> list[IP]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    lookup = loop.run_in_executor(_dns_executor(), socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(lookup, timeout)
    except (socket.gaierror, UnicodeError, TimeoutError) as exc:
        raise TargetRefused(DNS_FAILED) from exc
    out: list[IP] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if addr not in out:
            out.append(addr)
    if not out:
        raise TargetRefused(DNS_FAILED)
    return out


async def checked_address(url: str | httpx.URL, allow: AllowList) -> IP:
    """The address to connect to; TargetRefused if any address of the host is internal."""
    parsed = httpx.URL(url)
    host = _host(parsed)
    addresses = await resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    if not allow.allows_host(host):
        for ip in addresses:
            if internal(ip) and not allow.allows_ip(ip):
                raise TargetRefused(REFUSED_ADDRESS)
    return addresses[0]


async def check_registration(url: str, allow: AllowList) -> None:
    """Refuse an internal target when it is registered. A name that does not resolve (yet) is
    accepted: it is checked again before every request."""
    try:
        await checked_address(url, allow)
    except TargetRefused as exc:
        if exc.reason != DNS_FAILED:
            raise


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    reason: str  # "" when ok; else a fixed reason or "HTTP <status>"
    duration_ms: int


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        return TLS_FAILED if "ssl" in text or "certificate" in text else CONNECT_FAILED
    if isinstance(exc, httpx.NetworkError):
        return CONNECT_FAILED
    return PROTOCOL_ERROR


class Poster:
    """POSTs to checked addresses. One per worker (it keeps connections to its receiver)."""

    def __init__(self, allow: AllowList, timeout: float) -> None:
        self.allow = allow
        self.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.http.aclose()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()

        def ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            parsed = httpx.URL(url)
            ip = await checked_address(parsed, self.allow)
        except TargetRefused as exc:
            return Outcome(False, None, exc.reason, ms())
        # connect to the checked address; the name stays in Host and in TLS (SNI, certificate)
        target = parsed.copy_with(host=str(ip))
        extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
        host_header = parsed.netloc.decode("ascii").rpartition("@")[2]
        try:
            # streamed and closed unread: the receiver's answer body is never looked at
            async with self.http.stream("POST", target, content=body, headers={**headers, "Host": host_header},
                                        extensions=extensions) as resp:
                status = resp.status_code
        except httpx.HTTPError as exc:
            return Outcome(False, None, _reason(exc), ms())
        if 200 <= status < 300:
            return Outcome(True, status, "", ms())
        return Outcome(False, status, f"HTTP {status}", ms())
