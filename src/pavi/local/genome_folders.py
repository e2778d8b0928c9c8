"""The local genome files a Batch job may read from inside its container.

Locally, files stand in for a genome host (in AWS the jobs read genomes over HTTPS or S3), so
a job's container is given read access to the folders of the local FASTA files its entries
name: those of its entry file, or, for a retrieval child, of every entry of the job's
manifest (its shares, read once per manifest, the same for every child).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pavi.aws.job_store import share_name


class GenomeFolders:
    """The folders of the local FASTA files a job names, read from the local S3."""

    def __init__(self, s3: Any):
        self.s3 = s3
        self.known: dict[str, set[Path]] = {}  # by manifest or entry URI
        self.lock = threading.Lock()

    def of_job(self, job: Any) -> list[Path]:
        """The folders for a Batch job (its command's ``s3://...json`` arguments)."""
        folders: set[Path] = set()
        for argument in job.command:
            if argument.startswith("s3://") and argument.endswith(".json"):
                folders |= self.named_in(argument)
        return sorted(folders)

    def named_in(self, uri: str) -> set[Path]:
        with self.lock:
            if uri not in self.known:
                self.known[uri] = self._read(uri)
            return self.known[uri]

    def _read(self, uri: str) -> set[Path]:
        document = self._json(uri)
        if isinstance(document, dict) and isinstance(document.get("entry_ids"), list):
            prefix, per_share = str(document.get("entries", "")), max(1, int(document.get("per_share") or 1))
            shares = [f"{prefix}{share_name(index)}" for index in range(-(-len(document["entry_ids"]) // per_share))]
            with ThreadPoolExecutor(16) as pool:
                entries = [entry for held in pool.map(self._json, shares) if isinstance(held, list) for entry in held]
        else:
            entries = [document]
        folders: set[Path] = set()
        for entry in entries:
            url = entry.get("fasta_file_url") if isinstance(entry, dict) else None
            if isinstance(url, str) and ("://" not in url or url.startswith("file://")):
                path = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)
                if path.parent.is_dir():
                    folders.add(path.parent)
        return folders

    def _json(self, uri: str) -> Any:
        if not uri.startswith("s3://"):
            return None
        bucket, key = uri[5:].split("/", 1)
        try:
            return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except Exception:  # the job itself reports what it cannot read
            return None
