"""Byte sources behind a FASTA URL.

A :class:`ByteSource` reads exact, closed byte ranges (``Range: bytes=a-b`` over HTTP,
``GetObject(Range=...)`` on S3, ``seek``/``read`` on disk), so that a transcript costs
only the BGZF blocks it needs. See ``docs/decisions.md`` for why this is not htslib's
own remote I/O (it asks for open-ended ranges and transferred megabytes per transcript).

Every source is opened through :func:`open_source`, which asks the
:class:`~pavi.domain.url_policy.UrlPolicy` first (and again on every redirect hop).
boto3 is imported only when an ``s3://`` location is read.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from pavi.domain.errors import GenomeAccessError, UrlNotAllowedError
from pavi.domain.http import HttpAnswer, http_get, reset_http, too_large, transfer_counters
from pavi.domain.url_policy import UrlPolicy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Identity:
    """What tells one version of a file from another: its size, and its ETag (S3; HTTP, else
    its Last-Modified) or, on this machine, its modification time and inode."""

    size: int
    version: str

    def __str__(self) -> str:
        return f"{self.size} bytes, {self.version or 'no version'}"


class GenomeChanged(GenomeAccessError):
    """A file is not the version its index (or an earlier read) was taken from."""


def changed(url: str, expected: Identity, found: Identity) -> GenomeChanged:
    return GenomeChanged(
        f"{url}: the file changed while it was being read (was {expected}, is {found}); "
        "its index and blocks were of the old version, so nothing read from it is used"
    )


class ByteSource(Protocol):
    """Random access to the bytes of one file, each read checked against the file's identity."""

    url: str

    def identity(self) -> Identity:
        """The file's identity now. Raises FileNotFoundError if it is absent."""
        ...

    def read_range(self, start: int, end: int | None, expect: Identity | None = None) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (to the end of the file when ``end`` is None);
        :class:`GenomeChanged` when ``expect`` is given and the file is no longer that version."""
        ...

    def read_all(self, limit: int) -> tuple[bytes, Identity]:
        """The whole file and its identity (only for small files: indexes); refused when it is
        larger than ``limit`` bytes, before it is read. Raises FileNotFoundError if absent."""
        ...


class LocalSource:
    """A regular file on this machine (``file://`` URL or plain path; never a device or pipe)."""

    def __init__(self, url: str):
        self.url = url
        self.path = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)

    def _identity_of(self, handle: BinaryIO) -> Identity:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise GenomeAccessError(f"{self.url}: not a regular file")
        return Identity(status.st_size, f"mtime {status.st_mtime_ns} inode {status.st_ino}")

    def identity(self) -> Identity:
        try:
            with self.path.open("rb") as handle:
                return self._identity_of(handle)
        except FileNotFoundError as error:
            raise FileNotFoundError("no such file") from error

    def read_range(self, start: int, end: int | None, expect: Identity | None = None) -> bytes:
        try:
            with self.path.open("rb") as handle:
                found = self._identity_of(handle)
                if expect is not None and found != expect:
                    raise changed(self.url, expect, found)
                handle.seek(start)
                return handle.read(-1 if end is None else end - start + 1)
        except FileNotFoundError as error:
            raise GenomeAccessError(f"{self.url}: no such file") from error
        except OSError as error:
            raise GenomeAccessError(f"{self.url}: cannot be read ({error.strerror})") from error

    def read_all(self, limit: int) -> tuple[bytes, Identity]:
        with self.path.open("rb") as handle:
            found = self._identity_of(handle)
            if found.size > limit:
                raise too_large(self.url, found.size, limit)
            return handle.read(limit + 1), found


_CONTENT_RANGE = re.compile(r"^bytes (?:\d+-\d+|\*)/(\d+)$")


def _http_identity(answer: HttpAnswer) -> Identity:
    """The identity an HTTP answer gives: the whole file's size (from Content-Range, or the
    body of a 200) and its ETag, else its Last-Modified."""
    match = _CONTENT_RANGE.match(answer.headers.get("Content-Range", "").strip())
    size = int(match[1]) if match else len(answer.data)
    version = answer.headers.get("ETag") or answer.headers.get("Last-Modified") or ""
    return Identity(size, version)


class HttpSource:
    """A file behind ``http(s)://``: closed Range requests, redirects checked by the policy; a
    read expecting a version sends ``If-Match`` (a strong ETag) and checks the answer's."""

    def __init__(self, url: str, policy: UrlPolicy):
        self.url = url
        self.policy = policy

    def identity(self) -> Identity:
        answer = http_get(self.url, self.policy, headers={"Range": "bytes=0-0"})
        transfer_counters.add(len(answer.data))
        if answer.status == 404:
            raise FileNotFoundError("HTTP 404")
        if answer.status not in (200, 206, 416):
            raise GenomeAccessError(f"{self.url}: HTTP {answer.status}")
        return _http_identity(answer)

    def read_range(self, start: int, end: int | None, expect: Identity | None = None) -> bytes:
        wanted = f"bytes={start}-" if end is None else f"bytes={start}-{end}"
        headers = {"Range": wanted}
        if expect is not None and expect.version.startswith('"'):
            headers["If-Match"] = expect.version
        answer = http_get(self.url, self.policy, headers=headers)
        transfer_counters.add(len(answer.data))
        if answer.status == 412 and expect is not None:
            raise changed(self.url, expect, Identity(-1, "another ETag (412 Precondition Failed)"))
        if answer.status in (206, 416) and expect is not None and (found := _http_identity(answer)) != expect:
            raise changed(self.url, expect, found)
        if answer.status == 206:
            return answer.data
        if answer.status == 416:
            return b""
        if answer.status == 200:
            raise GenomeAccessError(
                f"{self.url}: the server ignored the Range request (answered 200 with the whole file); "
                "it must support byte ranges"
            )
        raise GenomeAccessError(f"{self.url}: HTTP {answer.status} for {wanted}")

    def read_all(self, limit: int) -> tuple[bytes, Identity]:
        answer = http_get(self.url, self.policy, max_bytes=limit)
        transfer_counters.add(len(answer.data))
        if answer.status == 404:
            raise FileNotFoundError(self.url)
        if answer.status != 200:
            raise GenomeAccessError(f"{self.url}: HTTP {answer.status}")
        return answer.data, _http_identity(answer)


_s3_lock = threading.Lock()
_s3_client: Any = None


def s3_client() -> S3Client:
    """The process's S3 client (standard retry mode: throttling and 5xx are retried)."""
    global _s3_client
    with _s3_lock:
        if _s3_client is None:
            import boto3
            from botocore.config import Config

            _s3_client = boto3.client(
                "s3",
                endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None,
                config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32),
            )
        return _s3_client  # type: ignore[no-any-return]


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints and credentials)."""
    global _s3_client
    with _s3_lock:
        _s3_client = None
    reset_http()


def split_s3(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path.lstrip("/")


class S3Source:
    """An object behind ``s3://bucket/key``, read with ranged GetObject calls; a read
    expecting a version sends ``IfMatch`` with its ETag."""

    def __init__(self, url: str, policy: UrlPolicy):
        policy.check(url)
        self.url = url
        self.bucket, self.key = split_s3(url)

    def _call(self, method: str, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        started = time.monotonic()
        try:
            return getattr(s3_client(), method)(Bucket=self.bucket, Key=self.key, **arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError("no such object") from error
            if code == "InvalidRange":
                return None
            if code in {"PreconditionFailed", "412"}:
                raise GenomeChanged(
                    f"{self.url}: the object changed while it was being read (its ETag differs)"
                ) from error
            raise GenomeAccessError(f"{self.url}: S3 {code or 'error'} ({error})") from error
        except BotoCoreError as error:
            elapsed = time.monotonic() - started
            raise GenomeAccessError(f"{self.url}: S3 unreachable after {elapsed:.1f}s ({error})") from error

    def identity(self) -> Identity:
        answer = self._call("head_object")
        return Identity(int(answer["ContentLength"]), str(answer.get("ETag") or ""))

    def read_range(self, start: int, end: int | None, expect: Identity | None = None) -> bytes:
        arguments: dict[str, Any] = {"Range": f"bytes={start}-" if end is None else f"bytes={start}-{end}"}
        if expect is not None and expect.version:
            arguments["IfMatch"] = expect.version
        try:
            answer = self._call("get_object", **arguments)
        except FileNotFoundError as error:
            raise GenomeAccessError(f"{self.url}: no such object") from error
        if answer is None:  # the range starts past the end
            return b""
        body: bytes = answer["Body"].read()
        transfer_counters.add(len(body))
        return body

    def read_all(self, limit: int) -> tuple[bytes, Identity]:
        answer = self._call("get_object")
        size = int(answer.get("ContentLength") or 0)
        if size > limit:
            answer["Body"].close()
            raise too_large(self.url, size, limit)
        body: bytes = answer["Body"].read(limit + 1)
        transfer_counters.add(len(body))
        return body, Identity(size, str(answer.get("ETag") or ""))


def open_source(url: str, policy: UrlPolicy | None = None) -> ByteSource:
    """The byte source for a URL or local path, after the allow-list check."""
    policy = policy or UrlPolicy.from_env()
    scheme = urlsplit(url).scheme.lower()
    if scheme in {"http", "https"}:
        policy.admit(url)  # every request resolves and checks its host again (pinned): no lookup here
        return HttpSource(url, policy)
    if scheme == "s3":
        return S3Source(url, policy)
    if scheme in {"", "file"}:
        policy.check(url)
        return LocalSource(url)
    raise UrlNotAllowedError(f"{url}: unsupported scheme {scheme!r}")
