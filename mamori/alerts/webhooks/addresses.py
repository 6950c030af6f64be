"""Where a webhook may be called: the URL check at save and before each call, and the call itself.

A webhook URL must be ``http`` or ``https`` with a host name, no user name or password, and every
address its host resolves to must be a public one: not loopback, link-local, private (RFC 1918,
unique-local), shared (RFC 6598), unspecified, multicast or reserved (``ipaddress``'s
``is_global``) — so that the panel cannot be turned against the operator's own network (SSRF).
``MAMORI_WEBHOOK_ALLOW_PRIVATE`` lifts the address rule (a deployment whose receivers are on its
own network), never the others.

``post`` connects to the address that was checked, not to the name again: a DNS answer that
changes between the check and the connection (DNS rebinding) cannot swap in another address.
TLS still verifies the certificate against the host name (SNI and ``check_hostname``).
"""

from __future__ import annotations

import dataclasses
import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from mamori.core.text import invisible_character

TIMEOUT_SECONDS = 10.0
# The receiver's answer is not kept; only this much is read so that the connection closes.
READ_AT_MOST = 4096

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """A URL a webhook may not call; ``message`` says why, in the active language; ``code``
    which rule refused it (a ``WebhookAttempt.Failure``: ``url``, ``dns`` or ``private``)."""

    def __init__(self, message: str, code: str = "url") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclasses.dataclass(frozen=True)
class Destination:
    """A checked URL: its parts, and the address to connect to."""

    scheme: str
    host: str
    port: int
    target: str  # the path and query, as the request line carries them
    address: str


def _parts(url: str) -> tuple[str, str, int, str]:
    if not url or invisible_character(url, spaces=True) or " " in url:
        raise AddressRefused(_("Enter a URL without spaces or control characters."))
    if not url.isascii():
        # What goes on the request line and in the Host header: ASCII only.
        raise AddressRefused(
            _(
                "Enter the URL in ASCII: an international domain name as punycode (xn--…), other "
                "characters of the path percent-encoded."
            )
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused(_("Enter a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(_("The URL must start with https:// or http://."))
    if not parts.hostname:
        raise AddressRefused(_("The URL must name a host."))
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(
            _(
                "A URL with a user name or password is not accepted: the shared secret signs each call."
            )
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def address_allowed(address: IpAddress) -> bool:
    """Whether a webhook may connect to ``address`` (see the module)."""
    if settings.MAMORI_WEBHOOK_ALLOW_PRIVATE:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


# getaddrinfo's answers that say the name has no address; any other failure (EAI_AGAIN: no DNS
# server answered, as on a machine offline) says nothing about the name.
NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in NO_SUCH_NAME:
            raise AddressRefused(
                _("The host %(host)s does not exist: DNS has no address for it.") % {"host": host},
                code="dns",
            ) from None
        raise AddressRefused(
            _(
                "The name %(host)s could not be resolved: no DNS server answered. Check this "
                "server's network and DNS settings, then try again."
            )
            % {"host": host},
            code="dns",
        ) from None
    except (OSError, UnicodeError):
        raise AddressRefused(
            _("The name %(host)s could not be resolved.") % {"host": host}, code="dns"
        ) from None
    # getaddrinfo gives a scope ("fe80::1%eth0") with link-local IPv6 addresses: not an address.
    return [ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers]


def destination(url: str) -> Destination:
    """Check ``url`` and resolve its host now; ``AddressRefused`` saying why it may not be
    called. Every address the host resolves to must be allowed (one private answer among
    public ones refuses the URL: which one a client would use is not ours to choose)."""
    scheme, host, port, target = _parts(url)
    addresses = _resolve(host, port)
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise AddressRefused(
            _refusal(host, str(refused[0]) if refused else ""),
            code="private" if refused else "dns",
        )
    return Destination(scheme, host, port, target, str(addresses[0]))


def _refusal(host: str, address: str) -> str:
    """Why a host is refused, naming the address once: the host when it is the address itself
    (``http://127.0.0.1/``), else the host and the address it resolves to."""
    if not address:
        return _("The name %(host)s resolves to no address.") % {"host": host}
    if host.strip("[]") == address:
        return _(
            "%(address)s is a private, loopback, link-local or otherwise non-public address: "
            "webhooks may only call public addresses."
        ) % {"address": address}
    return _(
        "%(host)s resolves to %(address)s, a private, loopback, link-local or otherwise "
        "non-public address: webhooks may only call public addresses."
    ) % {"host": host, "address": address}


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address``, whatever ``host`` resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``; the certificate is checked against ``host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def post(to: Destination, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``body`` to a checked destination (no redirect followed); the status code and
    reason. Raises ``OSError`` (network, TLS, timeout) or ``http.client.HTTPException``."""
    pinned = _PinnedHTTPSConnection if to.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(to.host, to.port, to.address, TIMEOUT_SECONDS)
    try:
        connection.request("POST", to.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(READ_AT_MOST)
        return response.status, response.reason
    finally:
        connection.close()
