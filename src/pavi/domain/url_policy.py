"""Which FASTA locations may be read: the allow-list that guards every byte source.

A URL is parsed once, strictly (:func:`parse_url`): anything two parsers could read two ways
(a backslash, userinfo, a control, space or non-ASCII character, a percent-encoded or
non-canonical host, dot segments, a fragment) is refused. The same parse is what the policy
checks and what the HTTP source connects to: :meth:`UrlPolicy.resolve` resolves the host once,
checks every address, and returns the one to connect to (pinned: no second lookup).

Two modes (``PAVI_URL_GUARD``):

- ``aws`` (the template sets it on every function and job): the guard is always on.
  Non-public addresses (loopback, private, link-local such as the metadata endpoints,
  shared, reserved, and IPv6 forms that embed one: mapped, compatible, 6to4, NAT64) are
  refused; ``file://`` is never allowed; ``PAVI_FASTA_ALLOWLIST`` lists ``host``,
  ``*.domain``, ``s3://bucket`` and URL prefixes ``https://host/path/``; ``*`` admits any
  public host, an empty list none.
- ``local`` (the default: the CLI on one's own machine): unset, empty or ``*`` allows every
  location, local files and loopback included; a list turns the guard on, with ``file://``
  allowed only when listed.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pavi.domain.errors import GenomeAccessError, UrlNotAllowedError

ALLOWLIST_ENV = "PAVI_FASTA_ALLOWLIST"
GUARD_ENV = "PAVI_URL_GUARD"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class ParsedUrl:
    """The one reading of an ``http(s)`` URL that is both checked and connected to."""

    url: str
    scheme: str
    host: str  # lower case; an IPv6 literal without its brackets
    port: int
    target: str  # the request target: path (at least "/") and query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Resolved:
    """A checked URL and the address to connect to for it."""

    parsed: ParsedUrl
    address: str


def parse_url(url: str) -> ParsedUrl:
    """Parse an ``http(s)`` URL, refusing any spelling two parsers could read differently."""

    def refuse(why: str) -> UrlNotAllowedError:
        return UrlNotAllowedError(f"{url!r}: {why}")

    if any(not 0x21 <= ord(c) <= 0x7E for c in url):
        raise refuse("a URL may not contain control, space or non-ASCII characters")
    if "\\" in url:
        raise refuse("a URL may not contain a backslash")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise refuse(f"scheme {scheme!r} is not allowed")
    if "@" in parts.netloc:
        raise refuse("a URL may not carry a user name or password (@)")
    if "#" in url:
        raise refuse("a URL may not carry a fragment (#)")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise refuse(f"invalid port ({error})") from error
    host = _canonical_host(parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc)
    if host is None:
        raise refuse(f"host {parts.hostname or parts.netloc!r} is not a plain DNS name or a canonical IP address")
    segments = unquote(parts.path).split("/")
    if any(s in {".", ".."} for s in segments) or re.search(r"%(2f|5c|2e)", parts.path, re.IGNORECASE):
        raise refuse("the path may not contain dot segments or encoded slashes and dots")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return ParsedUrl(url, scheme, host, port, target)


def _canonical_host(raw: str) -> str | None:
    """The host in its one canonical spelling, or None when it has another (or none)."""
    host = raw.lower()
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host[1:-1] if address.compressed == host[1:-1] else None
    if not host or len(host) > 253:
        return None
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):  # an IPv4 address: only its dotted-quad form
        try:
            return host if str(ipaddress.IPv4Address(host)) == host else None
        except ValueError:
            return None
    return host if all(_LABEL.match(label) for label in labels) else None


def is_public(address: IPAddress) -> bool:
    """Whether an address is globally reachable, looking through IPv6 forms that embed IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = address.ipv4_mapped or address.sixtofour
        if any(address in net for net in _NAT64) or (address in _COMPATIBLE and int(address) > 1):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.teredo:
            return False  # a tunnel to an address it does not show: never needed for a genome
        if embedded is not None:
            return is_public(embedded)
    return bool(address.is_global) and not address.is_multicast


@dataclass(frozen=True)
class UrlPolicy:
    """Which FASTA locations may be read.

    ``allowed`` lists the entries (None: any host); ``guard`` refuses non-public addresses
    (default: on when there is a list); ``files`` allows local files (default: when there is
    no list, or it names ``file://``).
    """

    allowed: tuple[str, ...] | None = None
    guard: bool | None = None
    files: bool | None = None

    @property
    def guarded(self) -> bool:
        return self.allowed is not None if self.guard is None else self.guard

    @property
    def files_allowed(self) -> bool:
        return (self.allowed is None or "file://" in self.allowed) if self.files is None else self.files

    @classmethod
    def from_env(cls) -> UrlPolicy:
        raw = os.environ.get(ALLOWLIST_ENV, "").strip()
        entries = tuple(item.strip().lower() for item in raw.split(",") if item.strip())
        if os.environ.get(GUARD_ENV, "local") == "aws":
            return cls(None if "*" in entries else entries, guard=True, files=False)
        if not entries or entries == ("*",):
            return cls(None)
        return cls(None if "*" in entries else entries, guard=True)

    def check(self, url: str) -> None:
        """Raise :class:`UrlNotAllowedError` unless ``url`` may be read. Makes no request to it."""
        scheme = urlsplit(url).scheme.lower()
        if scheme in {"", "file"}:
            if not self.files_allowed:
                raise UrlNotAllowedError(f"{url}: local files are not allowed in this deployment")
            return
        if scheme == "s3":
            bucket = urlsplit(url).netloc.lower()
            if self.allowed is not None and f"s3://{bucket}" not in self.allowed:
                raise UrlNotAllowedError(f"{url}: bucket {bucket!r} is not on the FASTA allow-list")
            return
        self.resolve(url)

    def admit(self, url: str) -> ParsedUrl:
        """Parse an ``http(s)`` URL and match it against the list, without resolving its host."""
        parsed = parse_url(url)
        if self.allowed is not None and not any(_matches(parsed, entry) for entry in self.allowed):
            raise UrlNotAllowedError(f"{url}: host {parsed.host!r} is not on the FASTA allow-list")
        return parsed

    def resolve(self, url: str) -> Resolved:
        """Check an ``http(s)`` URL and resolve its host once: the address to connect to."""
        parsed = self.admit(url)
        addresses = _addresses(parsed.host, parsed.port)
        if self.guarded:
            for address in addresses:
                if not is_public(address):
                    raise UrlNotAllowedError(
                        f"{url}: host {parsed.host!r} is (or resolves to) the non-public address {address}"
                    )
        return Resolved(parsed, str(addresses[0]))


@functools.cache
def _url_prefix(entry: str) -> ParsedUrl | None:
    """An allow-list entry ``https://host/path/`` parsed (once per entry), or None if it is not one."""
    try:
        return parse_url(entry)
    except UrlNotAllowedError:
        return None


def _matches(parsed: ParsedUrl, entry: str) -> bool:
    if entry.startswith(("http://", "https://")):  # a URL prefix: scheme, host, port and path start
        prefix = _url_prefix(entry)
        if prefix is None:
            return False
        path = prefix.target if prefix.target.endswith("/") else prefix.target + "/"
        return (parsed.scheme, parsed.host, parsed.port) == (prefix.scheme, prefix.host, prefix.port) and (
            parsed.target.startswith(path)
        )
    if "://" in entry:
        return False
    if entry.startswith("*."):
        return parsed.host.endswith(entry[1:])
    return parsed.host == entry.strip("[]")


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise GenomeAccessError(f"cannot resolve host {host!r}: {error}") from error
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise GenomeAccessError(f"cannot resolve host {host!r}: no address")
    return found
