"""The SSRF guard on webhook callbacks (issue 14, OWASP SSRF prevention).

A callback must be https in production; every address its host resolves to must be
public, unless loopback is allowed (development and tests) or the network is listed in
``webhooks.allowed_networks``. The check runs at registration and again at every
delivery, on the addresses resolved then, and the delivery connects to the very address
it checked (``Target.ip``), so a name that re-resolves elsewhere (DNS rebinding) gains
nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authserver.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Sequence[tuple[Any, ...]]]
MAX_URL_LENGTH = 2048


class CallbackRefusedError(Exception):
    """The callback URL may not be called; the message is safe to show the TPP."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    ip: str
    """The checked address to connect to."""


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class CallbackGuard:
    def __init__(
        self,
        *,
        https_only: bool,
        allow_loopback: bool,
        allowed_networks: Sequence[str] = (),
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self._https_only = https_only
        self._allow_loopback = allow_loopback
        self._networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_networks
        )
        self._resolve = resolver

    def allowed(self, address: IPAddress) -> bool:
        address = _unmapped(address)
        if any(address in network for network in self._networks):
            return True
        if address.is_loopback:
            return self._allow_loopback
        # is_global is False for private, link-local (169.254.169.254, the cloud metadata
        # address), shared (100.64/10), reserved, unspecified and documentation ranges.
        return address.is_global and not address.is_multicast

    def parse(self, url: str) -> Target:
        """The URL's parts, checked without resolving (scheme, host, no credentials)."""
        if len(url) > MAX_URL_LENGTH or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
            raise CallbackRefusedError("callback_url is not a valid URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise CallbackRefusedError("callback_url is not a valid URL") from None
        allowed = ("https",) if self._https_only else ("https", "http")
        if parts.scheme not in allowed:
            raise CallbackRefusedError("callback_url must use https")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise CallbackRefusedError("callback_url needs a host and no credentials")
        if parts.fragment:
            raise CallbackRefusedError("callback_url must not have a fragment")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if parts.scheme == "https" else 80
        return Target(parts.scheme, parts.hostname, port or default, path, ip="")

    def resolve(self, url: str) -> Target:
        """The target with a checked address; CallbackRefusedError when any address of the host
        is not allowed (one private answer among public ones is refused too)."""
        target = self.parse(url)
        try:
            infos = self._resolve(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise CallbackRefusedError("callback_url's host does not resolve") from None
        addresses: list[IPAddress] = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
            except ValueError:
                continue
        if not addresses:
            raise CallbackRefusedError("callback_url's host does not resolve")
        if not all(self.allowed(address) for address in addresses):
            raise CallbackRefusedError("callback_url resolves to an address that is not allowed")
        return Target(
            target.scheme, target.host, target.port, target.path, ip=str(_unmapped(addresses[0]))
        )


def guard_from_settings(settings: Settings) -> CallbackGuard:
    """https only in production; loopback per ``Settings.webhook_loopback_allowed``."""
    return CallbackGuard(
        https_only=settings.env == "production",
        allow_loopback=settings.webhook_loopback_allowed,
        allowed_networks=settings.webhooks.allowed_networks,
    )
