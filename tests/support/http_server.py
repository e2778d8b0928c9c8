"""A local HTTP file server for tests and benchmarks: byte ranges, counters and injected faults.

It serves files from a folder (or from an in-memory mapping) on 127.0.0.1, answers
``Range: bytes=a-b`` / ``bytes=a-`` with 206, counts the body bytes it really sent, and can
be told to fail the first N requests of a path with a status, to answer slowly, to ignore
ranges, or to redirect. Like real file servers (S3, nginx, Apache) it sends an ``ETag`` and a
``Last-Modified`` for each file version and answers ``If-Match`` with another ETag by 412.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Faults:
    fail_first: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (count, status)
    delay: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    redirect: dict[str, str] = field(default_factory=dict)  # path -> Location
    ignore_ranges: bool = False
    bandwidth: float = 0.0  # bytes per second the server sends at most; 0: no limit


class FileServer:
    """Serve ``root`` (a folder) and ``documents`` (path -> bytes) on a loopback port."""

    def __init__(
        self,
        root: Path | None = None,
        documents: dict[str, bytes] | None = None,
        address: tuple[str, int] = ("127.0.0.1", 0),
    ):
        self.root = root
        self.documents = documents or {}
        self.faults = Faults()
        self.bytes_sent = 0
        self.requests: list[tuple[str, str | None]] = []
        self.hosts: list[str] = []  # the Host header of each request
        self.in_flight = 0  # GET requests being answered now
        self.most_in_flight = 0  # the most at once (concurrency is counted, not timed)
        self._failures: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._server = _QuietServer(address, self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_sent = 0
            self.requests.clear()

    def _content(self, path: str) -> bytes | Path | None:
        if path in self.documents:
            return self.documents[path]
        if self.root is not None:
            candidate = (self.root / path.lstrip("/")).resolve()
            if candidate.is_file() and self.root.resolve() in candidate.parents:
                return candidate
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _plain(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server._lock:
                    server.requests.append((self.path, self.headers.get("Range")))
                    server.hosts.append(self.headers.get("Host", ""))
                    count, status = server.faults.fail_first.get(path, (0, 0))
                    failing = server._failures[path] < count
                    if failing:
                        server._failures[path] += 1
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self._answer_get(path, failing, status)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer_get(self, path: str, failing: bool, status: int) -> None:
                if path in server.faults.delay:
                    time.sleep(server.faults.delay[path])
                if failing:
                    self._plain(status, b"injected failure")
                    return
                if path in server.faults.redirect:
                    self._plain(302, headers={"Location": server.faults.redirect[path]})
                    return
                content = server._content(path)
                if content is None:
                    self._plain(404, b"not found")
                    return
                size = content.stat().st_size if isinstance(content, Path) else len(content)
                etag, modified = _version(content)
                if self.headers.get("If-Match") not in (None, "*", etag):
                    self._plain(412, b"precondition failed", {"ETag": etag})
                    return
                start, end, status = 0, size - 1, 200
                match = _RANGE.match(self.headers.get("Range", ""))
                if match and not server.faults.ignore_ranges:
                    status = 206
                    if match[1]:
                        start = int(match[1])
                        end = min(int(match[2]), size - 1) if match[2] else size - 1
                    else:  # suffix range: the last N bytes
                        start, end = max(0, size - int(match[2])), size - 1
                    if start >= size:
                        self._plain(416, headers={"Content-Range": f"bytes */{size}"})
                        return
                self.send_response(status)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    for chunk in _chunks(content, start, end):
                        self.wfile.write(chunk)
                        with server._lock:
                            server.bytes_sent += len(chunk)
                        if server.faults.bandwidth:
                            time.sleep(len(chunk) / server.faults.bandwidth)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early (htslib does, by design) are not errors here."""


def _version(content: bytes | Path) -> tuple[str, str]:
    """A file's ETag and Last-Modified, as a file server derives them from its metadata."""
    if isinstance(content, Path):
        status = content.stat()
        etag = f'"{status.st_size:x}-{status.st_mtime_ns:x}-{status.st_ino:x}"'
        return etag, formatdate(status.st_mtime, usegmt=True)
    return f'"{hashlib.md5(content).hexdigest()}"', formatdate(0, usegmt=True)


def _chunks(content: bytes | Path, start: int, end: int, size: int = 65536) -> Iterator[bytes]:
    """Bytes ``start..end`` of a document or file, in chunks (a file is never read whole)."""
    if isinstance(content, bytes):
        for offset in range(start, end + 1, size):
            yield content[offset : min(offset + size, end + 1)]
        return
    with content.open("rb") as handle:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(size, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


@contextmanager
def serve(
    root: Path | None = None, documents: dict[str, bytes] | None = None, address: tuple[str, int] = ("127.0.0.1", 0)
) -> Iterator[FileServer]:
    server = FileServer(root, documents, address).start()
    try:
        yield server
    finally:
        server.stop()
