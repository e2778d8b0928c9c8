"""Which FASTA locations may be read: the allow-list that guards every byte source.

The :class:`UrlPolicy` is read from ``PAVI_FASTA_ALLOWLIST``: unset, empty or ``*``
allows every URL (the local CLI's default); otherwise a comma-separated list of
``host``, ``*.domain``, ``s3://bucket`` and ``file://`` (local files). With an
allow-list set, loopback, private, link-local and other non-global addresses are refused,
also when a name resolves to one or a redirect points to one, before any request to them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from pavi.domain.errors import GenomeAccessError, UrlNotAllowedError

ALLOWLIST_ENV = "PAVI_FASTA_ALLOWLIST"


@dataclass(frozen=True)
class UrlPolicy:
    """Which FASTA locations may be read. ``allowed`` None means everything is allowed."""

    allowed: tuple[str, ...] | None = None

    @classmethod
    def from_env(cls) -> UrlPolicy:
        raw = os.environ.get(ALLOWLIST_ENV, "").strip()
        if raw in {"", "*"}:
            return cls(None)
        return cls(tuple(item.strip().lower() for item in raw.split(",") if item.strip()))

    def check(self, url: str) -> None:
        """Raise :class:`UrlNotAllowedError` unless ``url`` may be read. Makes no request to it."""
        if self.allowed is None:
            return
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in {"", "file"}:
            if "file://" not in self.allowed:
                raise UrlNotAllowedError(f"{url}: local files are not allowed in this deployment")
            return
        if scheme == "s3":
            if f"s3://{parts.netloc.lower()}" not in self.allowed:
                raise UrlNotAllowedError(f"{url}: bucket {parts.netloc!r} is not on the FASTA allow-list")
            return
        if scheme not in {"http", "https"}:
            raise UrlNotAllowedError(f"{url}: scheme {scheme!r} is not allowed")
        host = (parts.hostname or "").lower()
        if not host or not any(_host_matches(host, pattern) for pattern in self.allowed):
            raise UrlNotAllowedError(f"{url}: host {host!r} is not on the FASTA allow-list")
        for address in _addresses(host, parts.port or (443 if scheme == "https" else 80)):
            if not address.is_global:
                raise UrlNotAllowedError(f"{url}: host {host!r} is (or resolves to) the non-public address {address}")


def _host_matches(host: str, pattern: str) -> bool:
    if "://" in pattern:
        return False
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise GenomeAccessError(f"cannot resolve host {host!r}: {error}") from error
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
