"""Reading and writing job files on local disk or S3 with one interface.

A location is a local path, a ``file://`` URL or an ``s3://bucket/key`` URI. Local
writes are atomic (a temporary file renamed into place), so a reader never sees half a
file; S3 PUTs are atomic by nature and retried by botocore's standard retry mode.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pavi.domain.sources import s3_client, split_s3


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def local_path(location: str) -> Path:
    return Path(unquote(urlsplit(location).path)) if location.startswith("file://") else Path(location)


def join(base: str, name: str) -> str:
    """``name`` inside the folder or prefix ``base``."""
    if is_s3(base):
        return base.rstrip("/") + "/" + name
    return str(local_path(base) / name)


def write_bytes(location: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    if is_s3(location):
        bucket, key = split_s3(location)
        s3_client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        return
    path = local_path(location)
    with _staged(path, data) as temporary:
        os.replace(temporary, path)


@contextmanager
def _staged(path: Path, data: bytes) -> Iterator[str]:
    """``data`` in a temporary file beside ``path``, to be moved or linked into place: a reader
    never sees half a file. The temporary file is gone afterwards, whatever happened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield temporary
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_once(location: str, data: bytes, content_type: str = "application/json") -> bool:
    """Create the file only if it does not exist: True when this call created it, False when
    it was there already (S3: a conditional write, ``If-None-Match: *``, which S3 answers 412;
    locally: a hard link, which fails when the name exists). Two writers at once: one wins."""
    if is_s3(location):
        bucket, key = split_s3(location)
        client = s3_client()
        for attempt in range(4):
            try:
                client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*")
                return True
            except client.exceptions.ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code in {"PreconditionFailed", "412"}:
                    return False
                # 409 ConditionalRequestConflict: another conditional write of the key is under way
                if code != "ConditionalRequestConflict" or attempt == 3:
                    raise
                time.sleep(0.1 * 2**attempt)
    path = local_path(location)
    with _staged(path, data) as temporary:
        try:
            os.link(temporary, path)
            return True
        except FileExistsError:
            return False


def write_text(location: str, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
    write_bytes(location, text.encode("utf-8"), content_type)


def read_bytes(location: str) -> bytes:
    """The file's bytes; raises FileNotFoundError when it does not exist."""
    if is_s3(location):
        bucket, key = split_s3(location)
        client = s3_client()
        try:
            data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            return data
        except client.exceptions.NoSuchKey as error:
            raise FileNotFoundError(location) from error
    return local_path(location).read_bytes()


def read_text(location: str) -> str:
    return read_bytes(location).decode("utf-8")


def list_names(folder: str, suffix: str = "") -> list[str]:
    """Names of the files directly in a folder or S3 prefix ending with ``suffix``, sorted."""
    if is_s3(folder):
        bucket, prefix = split_s3(folder.rstrip("/") + "/")
        names = []
        for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if "/" not in name and name.endswith(suffix):
                    names.append(name)
        return sorted(names)
    path = local_path(folder)
    if not path.is_dir():
        raise FileNotFoundError(folder)
    return sorted(p.name for p in path.iterdir() if p.is_file() and p.name.endswith(suffix))
