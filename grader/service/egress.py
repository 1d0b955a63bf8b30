"""The outbound guard: which URLs the service sends to, and which addresses it connects to.

Callbacks, AGS scores and token requests pass it twice. `check_url` compares the URL's parsed
origin (scheme, host, port) with the origins the operator configured for that client, at intake
and again when sending, since the configuration may have changed in between. Each request names
its allowed origins (`allowing`); `GuardedTransport` checks the URL against them once more as
httpx parsed it, resolves the host, refuses loopback, private, link-local and other non-public
addresses unless one of those origins names that very address (and port), and connects to
exactly the address it checked, so a DNS answer that changes between check and connect
(rebinding) cannot move it.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALLOWED_ORIGINS = "grader.allowed_origins"
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# RFC 6052's well-known NAT64 prefix: a gateway there forwards to the IPv4 address in the low 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class EgressRefused(Exception):
    """A URL or a destination the service does not send to; the message says why."""


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a URL sends to: lower-case scheme, host (IDNA ASCII, IPv6 without brackets) and port."""

    scheme: str
    host: str
    port: int

    @property
    def address(self) -> IPAddress | None:
        """The host as an IP address, when the origin names one instead of a host name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


@functools.lru_cache(maxsize=1024)
def parse_url(url: str) -> Origin:
    """The origin an outbound URL sends to; refuses what two parsers could read differently.

    User information (`https://lms.example.edu@attacker.test/`) and fragments are refused
    outright, and httpx, which does the sending, must read the same origin as we do.
    Remembered per URL (an LMS sends the same callback and origins again and again: parsing
    them was a fifth of a submission's time on the event loop); a refusal is not remembered.
    """
    if any(ord(char) < 0x21 or char in "\\\x7f" for char in url):
        raise EgressRefused("the URL contains spaces, control characters or backslashes")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise EgressRefused("the URL's host or port cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise EgressRefused("only http and https URLs are sent to")
    if "@" in parts.netloc:
        raise EgressRefused("a URL with user information (user@host) is not sent to")
    if parts.fragment or url.endswith("#"):
        raise EgressRefused("a URL with a fragment (#...) is not sent to")
    origin = Origin(scheme, _normalised_host(parts.hostname), port or _DEFAULT_PORTS[scheme])
    if _httpx_origin(url) != origin:
        raise EgressRefused("the URL is ambiguous: its host or port reads differently to different parsers")
    return origin


@functools.lru_cache(maxsize=256)
def parse_origin(text: str) -> Origin:
    """A configured origin: `scheme://host[:port]`, optionally with a trailing `/` and nothing more."""
    origin = parse_url(text)
    parts = urllib.parse.urlsplit(text)
    if parts.path not in ("", "/") or parts.query or text.endswith("?"):
        raise EgressRefused("an origin is scheme://host[:port] without a path or query")
    return origin


def check_url(url: str, origins: Iterable[str]) -> Origin:
    """The origin of `url`, if it is exactly one of `origins` (scheme, host and port all equal)."""
    origin = parse_url(url)
    if origin not in {parse_origin(allowed) for allowed in origins}:
        raise EgressRefused(f"{origin} is not one of the allowed origins")
    return origin


def is_public(address: IPAddress) -> bool:
    """Whether `address` is globally routable unicast, including any IPv4 address embedded in it."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        embedded = address.sixtofour
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise EgressRefused(f"{host} could not be resolved") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def allowing(origins: Iterable[str]) -> dict[str, Any]:
    """Request extensions naming the only origins a request may go to; `GuardedTransport` enforces them."""
    return {_ALLOWED_ORIGINS: tuple(origins)}


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that sends a request only to an origin it is allowed (see `allowing`).

    A non-public address is reached only where one of the request's own allowed origins names it.
    Each request goes to the address that was checked: the URL's host is replaced by it, while
    the Host header and TLS (SNI and certificate check) keep the name. Each origin has its own
    connection pool, so a connection verified for one host name never carries another's requests.
    """

    def __init__(self, *, resolver: Resolver = resolve, **transport_options: Any) -> None:
        self._resolver = resolver
        self._transport_options = transport_options
        self._transports: dict[Origin, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        allowed = extensions.pop(_ALLOWED_ORIGINS, ())
        origin = check_url(str(request.url), allowed)
        address = self.address_for(origin, allowed)
        request.url = request.url.copy_with(host=str(address))
        request.extensions = extensions | {"sni_hostname": origin.host}
        return self._transport(origin).handle_request(request)

    def address_for(self, origin: Origin, allowed: Iterable[str]) -> IPAddress:
        """The address to connect to for `origin`, or EgressRefused.

        A non-public address is allowed only where an allowed origin names it with the same
        scheme and port: an operator who writes `http://127.0.0.1:9000` has allowed exactly that.
        """
        named = {named for named in map(parse_origin, allowed) if named.address is not None}
        addresses = [origin.address] if origin.address is not None else self._resolver(origin.host, origin.port)
        if not addresses:
            raise EgressRefused(f"{origin.host} could not be resolved")
        for address in addresses:
            if not is_public(address) and Origin(origin.scheme, str(address), origin.port) not in named:
                # The address itself stays out of the message: it is stored and shown to the client.
                raise EgressRefused(
                    f"{origin.host} resolves to an address that is not public and not named by an allowed origin"
                )
        return addresses[0]

    def close(self) -> None:
        with self._lock:
            transports = list(self._transports.values())
            self._transports.clear()
        for transport in transports:
            transport.close()

    def _transport(self, origin: Origin) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._transports.get(origin)
            if transport is None:
                transport = self._transports[origin] = httpx.HTTPTransport(**self._transport_options)
            return transport


def guarded_client(*, timeout: float, resolver: Resolver = resolve) -> httpx.Client:
    """The HTTP client of every outbound request: guarded, never following redirects."""
    return httpx.Client(transport=GuardedTransport(resolver=resolver), timeout=timeout, follow_redirects=False)


def _normalised_host(host: str | None) -> str:
    if not host:
        raise EgressRefused("the URL has no host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.lower().encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise EgressRefused(f"{host!r} is not a valid host name") from None
    if not _HOST_NAME.fullmatch(ascii_host):
        raise EgressRefused(f"{host!r} is not a valid host name")
    return ascii_host


def _httpx_origin(url: str) -> Origin | None:
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return None
    scheme = parsed.scheme
    if scheme not in _DEFAULT_PORTS:
        return None
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.lower()
    return Origin(scheme, host, parsed.port or _DEFAULT_PORTS[scheme])
