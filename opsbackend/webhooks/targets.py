"""Which URLs a webhook may be sent to (server-side request forgery).

In production only ``https://`` URLs, and never to a loopback, private, link-local
(cloud metadata), multicast or otherwise non-public address unless
``WEBHOOK_ALLOW_PRIVATE_TARGETS=1``. The addresses are checked when a subscription is
created and again at every delivery: a name that resolved to a public address
yesterday may resolve to 127.0.0.1 today (DNS rebinding). The delivery then connects
to the address it checked, not to whatever a second lookup returns. Outside production
(``make run``, tests) plain http and loopback are allowed so a local receiver works.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class TargetRefused(Exception):
    """The URL or the address it resolves to may not be called."""


@dataclass(frozen=True)
class TargetPolicy:
    production: bool = False
    allow_private: bool = False

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("https",) if self.production else ("http", "https")

    @property
    def public_only(self) -> bool:
        return self.production and not self.allow_private


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def check_url(url: str, policy: TargetPolicy, resolve=socket.getaddrinfo) -> str:
    """The URL if a subscription may use it; raises TargetRefused saying why not."""
    parts = _parts(url, policy)
    if policy.public_only:
        _public_addresses(parts.hostname, parts.port, resolve)
    return url


def resolve_target(url: str, policy: TargetPolicy, resolve=socket.getaddrinfo) -> Target:
    """Check the URL again at delivery time and pick the address to connect to."""
    parts = _parts(url, policy)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if policy.public_only:
        addresses = _public_addresses(parts.hostname, port, resolve)
    else:
        addresses = _addresses(parts.hostname, port, resolve)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def _parts(url: str, policy: TargetPolicy):
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL ({exc})") from exc
    if parts.scheme not in policy.schemes:
        allowed = " or ".join(f"{scheme}://" for scheme in policy.schemes)
        raise TargetRefused(f"the URL must start with {allowed}")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not accepted; the secret signs "
                            "each delivery")
    if parts.fragment:
        raise TargetRefused("the URL may not have a #fragment")
    if any(ord(char) < 33 for char in url):
        raise TargetRefused("the URL may not contain spaces or control characters")
    return parts


def _addresses(host: str, port: int | None, resolve) -> list[str]:
    try:
        found = resolve(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host} does not resolve") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise TargetRefused(f"the host {host} does not resolve")
    return addresses


def _public_addresses(host: str, port: int | None, resolve) -> list[str]:
    addresses = _addresses(host, port, resolve)
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(f"the host {host} resolves to {address}, which is not a "
                                "public address")
    return addresses


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast
