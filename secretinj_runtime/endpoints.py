"""Where a token may go: https, or plain http to a loopback host only.

A base URL from configuration (an ARM or Key Vault override, the mock) is checked before any
request; the transport sends a token nowhere else.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import UntrustedEndpointError

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, *, setting: str) -> str:
    """Validate a base URL a token may be sent to; return it without a trailing slash.

    https is required, except plain http to a loopback host (the local mock).
    """
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.username or parts.password or parts.query or parts.fragment or not host:
        raise UntrustedEndpointError(
            f"{setting} must be a plain base URL such as https://host[:port][/path], got {url!r}"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return url.strip().rstrip("/")
    raise UntrustedEndpointError(
        f"{setting} must use https (plain http only to a loopback host), got {url!r}"
    )
