"""Where webhook POSTs may go: public internet addresses only.

A subscription's URL is checked when it is made (``url_problem``) and again each time the
worker connects (``public_connection``): the host name is resolved once, every address it
resolves to must be public, and the socket is opened to one of those very addresses, so a
name that changes its answer between the check and the connection (DNS rebinding) gains
nothing. Loopback, private, link-local, carrier-grade NAT, multicast, reserved and
unspecified addresses are refused, including IPv4 addresses spelled as IPv6 (``::ffff:``,
6to4, NAT64).

``WEBHOOK_ALLOW_PRIVATE`` lifts the address rule (a receiver on the same network, or the
tests' receivers on 127.0.0.1); ``WEBHOOK_ALLOW_HTTP`` allows plain ``http`` URLs.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

# NAT64 (RFC 6052): the last 32 bits are an IPv4 address, reached through a gateway.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(OSError):
    """The host is, or resolves to, an address webhooks may not reach."""


def _allowed(name: str) -> bool:
    return bool(settings.WEBHOOKS[name])


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP address as text) is a public unicast internet address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` for a TCP connection to ``host``; ``AddressRefused`` if any of its
    addresses is not public (unless private ones are allowed)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not _allowed("ALLOW_PRIVATE"):
        for *_, sockaddr in found:
            if not is_public(sockaddr[0]):
                raise AddressRefused(
                    f"{host} is not a public address ({sockaddr[0]}); webhooks are only sent "
                    "to public addresses."
                )
    return found


def public_connection(
    address: tuple[str, int], timeout: float | None = None, source_address=None
) -> socket.socket:
    """A TCP connection to ``address`` = (host, port), made to one of the addresses the check
    approved. Has the signature of ``socket.create_connection``, which ``http.client``
    connections call through their ``_create_connection`` attribute."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in resolve(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"{host} has no address")


def url_problem(url: str) -> str | None:
    """Why webhooks may not be sent to ``url`` (a valid http(s) URL), or None. A host name
    that cannot be resolved now is accepted: the worker checks it again when it connects."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not _allowed("ALLOW_HTTP"):
        return "The webhook URL must use https."
    if _allowed("ALLOW_PRIVATE"):
        return None
    try:
        resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except AddressRefused as exc:
        return str(exc)
    except (OSError, UnicodeError, ValueError):
        return None  # not resolvable today; refused at connect time if it never becomes public
    return None
