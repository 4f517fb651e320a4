"""The client's address: the TCP peer, or what a configured reverse proxy says it is.

`X-Forwarded-For` is a header anyone can send. Believed from any peer, it
lets a credential-stuffing run name a new address for each attempt (so no
per-IP limit trips) and write any address into the audit trail. It is read
only when the connection comes from `CAREWALL_TRUSTED_PROXIES`, and then from
the right: each proxy appends the address it saw, so the right-most entry that
is not itself a trusted proxy is the client; whatever a client wrote further
left is ignored, and an entry that is not an address stops the walk at the
last trusted hop. Uvicorn's own handling (which trusts 127.0.0.1 by default)
is switched off by `carewall serve`; this middleware is the only one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxyMiddleware:
    """Sets the ASGI `client` from `X-Forwarded-For` when a trusted proxy sent it."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            peer = str(scope["client"][0])
            forwarded = _forwarded_for(scope)
            if forwarded and self._is_trusted(_address(peer)):
                scope = {**scope, "client": (client_address(forwarded, peer, self.trusted), 0)}
        await self.app(scope, receive, send)

    def _is_trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)


def client_address(forwarded: str, peer: str, trusted: Sequence[Network]) -> str:
    """The client behind a chain of trusted proxies (`peer` is the nearest hop)."""
    current = peer
    for entry in reversed(forwarded.split(",")):
        address = _address(entry)
        if address is None:
            return current
        current = str(address)
        if not any(address in network for network in trusted):
            return current
    return current


def _forwarded_for(scope: Scope) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    return ",".join(values)


def _address(text: str) -> Address | None:
    """An IP address from a header entry: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`."""
    value = text.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
