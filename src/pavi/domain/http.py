"""HTTP(S) for the genome's byte sources and the variant API: one connection pool per process,
time-outs and retries from the environment, and requests pinned to the address their URL
policy check resolved (no second DNS lookup between the check and the connection).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from pavi.domain.errors import GenomeAccessError
from pavi.domain.url_policy import Resolved, UrlPolicy

if TYPE_CHECKING:
    import urllib3

HTTP_CONNECT_TIMEOUT_ENV = "PAVI_HTTP_CONNECT_TIMEOUT"
HTTP_READ_TIMEOUT_ENV = "PAVI_HTTP_READ_TIMEOUT"
HTTP_BACKOFF_ENV = "PAVI_HTTP_BACKOFF"
MAX_REDIRECTS = 5


def too_large(url: str, size: int | None, limit: int) -> GenomeAccessError:
    said = f"{size:,} bytes" if size is not None else "more"
    return GenomeAccessError(f"{url}: {said}, more than the {limit:,} bytes an index file may have")


class _Counters:
    """Bytes and requests made by remote sources in this process (benchmarks, logs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes = 0
        self.requests = 0

    def add(self, size: int) -> None:
        with self.lock:
            self.bytes += size
            self.requests += 1


transfer_counters = _Counters()

_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None


def http_pool() -> urllib3.PoolManager:
    """The process's HTTP connection pool (keep-alive across entries and index files)."""
    import urllib3

    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=16, maxsize=16)
        return _pool


def http_timeout() -> urllib3.Timeout:
    import urllib3

    return urllib3.Timeout(
        connect=float(os.environ.get(HTTP_CONNECT_TIMEOUT_ENV, "5")),
        read=float(os.environ.get(HTTP_READ_TIMEOUT_ENV, "30")),
    )


def http_retry(total: int = 4) -> urllib3.Retry:
    """Retry connection errors, 429 and 5xx with exponential backoff; never follow redirects here.

    The backoff factor (seconds; ``PAVI_HTTP_BACKOFF``, default 0.25) doubles each retry, capped at 8 s.
    """
    import urllib3

    return urllib3.Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        redirect=False,
        backoff_factor=float(os.environ.get(HTTP_BACKOFF_ENV, "0.25")),
        backoff_max=8,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


_pinned_lock = threading.Lock()
_pinned: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
MAX_PINNED_POOLS = 16


def _pinned_pool(resolved: Resolved) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool that connects to the checked address (never a second DNS lookup), while
    the request names the host (``Host``, TLS SNI and certificate check)."""
    import urllib3

    parsed = resolved.parsed
    key = (parsed.scheme, parsed.host, parsed.port, resolved.address)
    with _pinned_lock:
        pool = _pinned.get(key)
        if pool is None:
            if len(_pinned) >= MAX_PINNED_POOLS:
                _pinned.pop(next(iter(_pinned))).close()
            common: dict[str, Any] = {"maxsize": 16, "block": False, "timeout": http_timeout()}
            if parsed.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    resolved.address, parsed.port, server_hostname=parsed.host, assert_hostname=parsed.host, **common
                )
            else:
                pool = urllib3.HTTPConnectionPool(resolved.address, parsed.port, **common)
            _pinned[key] = pool
        return pool


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    data: bytes


def http_get(
    url: str,
    policy: UrlPolicy,
    headers: dict[str, str] | None = None,
    retries: int = 4,
    max_bytes: int | None = None,
) -> HttpAnswer:
    """GET with retries, following at most :data:`MAX_REDIRECTS` redirects; with ``max_bytes``,
    a larger body is refused (by its Content-Length before it is read, else as it is read).

    Every hop is parsed once, checked by ``policy`` and connected to the address that was
    checked (:meth:`UrlPolicy.resolve`): what is checked is what is read.
    """
    import urllib3

    for _ in range(MAX_REDIRECTS + 1):
        resolved = policy.resolve(url)
        try:
            response = _pinned_pool(resolved).urlopen(
                "GET",
                resolved.parsed.target,
                headers={**(headers or {}), "Host": resolved.parsed.host_header},
                retries=http_retry(retries),
                redirect=False,
                timeout=http_timeout(),
                preload_content=False,
                assert_same_host=False,
            )
            try:
                if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if max_bytes is not None and response.status == 200:
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise too_large(url, int(declared), max_bytes)
                data = response.read(None if max_bytes is None else max_bytes + 1)
                if max_bytes is not None and len(data) > max_bytes:
                    raise too_large(url, None, max_bytes)
                return HttpAnswer(response.status, response.headers, data)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as error:
            raise GenomeAccessError(f"{url}: unreachable after {retries + 1} attempts ({error})") from error
    raise GenomeAccessError(f"{url}: more than {MAX_REDIRECTS} redirects")


def reset_http() -> None:
    """Forget the pools (tests switch servers)."""
    global _pool
    with _pool_lock:
        _pool = None
    with _pinned_lock:
        for pool in _pinned.values():
            pool.close()
        _pinned.clear()
