"""Variant resolution: inline definitions first, else the Alliance variant API."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import quote

import urllib3

from pavi.domain.errors import VariantError
from pavi.domain.http import http_pool, http_retry, http_timeout
from pavi.domain.limits import VARIANT_LOOKUPS_AT_ONCE
from pavi.domain.request import Entry
from pavi.domain.variants import Variant, check_variant

VARIANT_API_ENV = "PAVI_VARIANT_API_URL"
DEFAULT_VARIANT_API = "https://www.alliancegenome.org/api/variant/"


class VariantApiClient:
    """Client of the Alliance variant API: ``GET {base}{url-encoded id}``.

    Retries 429, 5xx and connection errors with exponential backoff (honouring
    Retry-After), times out, and answers a 404 with a clear :class:`VariantError`. At most
    :data:`VARIANT_LOOKUPS_AT_ONCE` requests are under way at once, whichever entries ask;
    each ID is asked once (its answer, or its error, is kept while the client lives: a
    retrieval makes one client per job). The base URL comes from ``PAVI_VARIANT_API_URL``.
    """

    def __init__(self, base_url: str | None = None, retries: int = 4):
        base = base_url or os.environ.get(VARIANT_API_ENV) or DEFAULT_VARIANT_API
        self.base_url = base if base.endswith("/") else base + "/"
        self.retries = retries
        self._asked: dict[str, Future[Variant]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(VARIANT_LOOKUPS_AT_ONCE, thread_name_prefix="variant-api")

    def get(self, variant_id: str) -> Variant:
        return self.get_many([variant_id])[0]

    def get_many(self, variant_ids: list[str]) -> list[Variant]:
        """The variants of ``variant_ids``, looked up concurrently; the first error raises."""
        with self._lock:
            futures = []
            for variant_id in variant_ids:
                if variant_id not in self._asked:
                    self._asked[variant_id] = self._pool.submit(self._fetch, variant_id)
                futures.append(self._asked[variant_id])
        return [future.result() for future in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> VariantApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fetch(self, variant_id: str) -> Variant:
        url = self.base_url + quote(variant_id, safe="")
        try:
            response = http_pool().request(
                "GET",
                url,
                headers={"Accept": "application/json"},
                retries=http_retry(self.retries),
                timeout=http_timeout(),
            )
        except urllib3.exceptions.HTTPError as error:
            raise VariantError(
                f"variant {variant_id}: the variant API at {self.base_url} did not answer "
                f"after {self.retries + 1} attempts ({type(error).__name__})"
            ) from error
        if response.status == 404:
            raise VariantError(f"variant {variant_id} was not found in the variant API (404)")
        if response.status != 200:
            raise VariantError(f"variant {variant_id}: the variant API answered HTTP {response.status}")
        try:
            data = json.loads(response.data)
            location = data["location"]
            return Variant(
                variant_id=variant_id,
                genomic_seq_id=str(location["chromosome"]),
                genomic_start_pos=int(location["start"]),
                genomic_end_pos=int(location["end"]),
                genomic_ref_seq=str(data.get("genomicReferenceSequence") or "").upper(),
                genomic_alt_seq=str(data.get("genomicVariantSequence") or "").upper(),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise VariantError(
                f"variant {variant_id}: the variant API's answer lacks location.chromosome/start/end ({error})"
            ) from error


_default_client: VariantApiClient | None = None
_client_lock = threading.Lock()


def default_client() -> VariantApiClient:
    global _default_client
    with _client_lock:
        if _default_client is None:
            _default_client = VariantApiClient()
        return _default_client


def reset_default_client() -> None:
    global _default_client
    with _client_lock:
        _default_client = None


def resolve_variants(entry: Entry, client: VariantApiClient | None = None) -> list[Variant]:
    """Every variant of an entry: inline definitions first choice, else the variant API
    (looked up concurrently, a few at a time)."""
    inline = {v.variant_id: Variant.from_inline(v) for v in entry.variants}
    ids = entry.all_variant_ids()
    wanted = [variant_id for variant_id in ids if variant_id not in inline]
    looked_up = dict(zip(wanted, (client or default_client()).get_many(wanted) if wanted else [], strict=True))
    resolved = [inline.get(variant_id) or looked_up[variant_id] for variant_id in ids]
    for variant in resolved:
        check_variant(variant)
    return resolved
