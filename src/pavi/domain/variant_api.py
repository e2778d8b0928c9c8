"""Variant resolution: inline definitions first, else the Alliance variant API."""

from __future__ import annotations

import json
import os
import threading
from urllib.parse import quote

import urllib3

from pavi.domain.errors import VariantError
from pavi.domain.request import Entry
from pavi.domain.sources import http_pool, http_retry, http_timeout
from pavi.domain.variants import Variant, check_variant

VARIANT_API_ENV = "PAVI_VARIANT_API_URL"
DEFAULT_VARIANT_API = "https://www.alliancegenome.org/api/variant/"


class VariantApiClient:
    """Client of the Alliance variant API: ``GET {base}{url-encoded id}``.

    Retries 429, 5xx and connection errors with exponential backoff (honouring
    Retry-After), times out, answers a 404 with a clear :class:`VariantError`, and caches
    answers per process. The base URL comes from ``PAVI_VARIANT_API_URL``.
    """

    def __init__(self, base_url: str | None = None, retries: int = 4):
        base = base_url or os.environ.get(VARIANT_API_ENV) or DEFAULT_VARIANT_API
        self.base_url = base if base.endswith("/") else base + "/"
        self.retries = retries
        self._cache: dict[str, Variant] = {}
        self._lock = threading.Lock()

    def get(self, variant_id: str) -> Variant:
        with self._lock:
            if variant_id in self._cache:
                return self._cache[variant_id]
        variant = self._fetch(variant_id)
        with self._lock:
            self._cache[variant_id] = variant
        return variant

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
    """Every variant of an entry: inline definitions first choice, else the variant API."""
    inline = {v.variant_id: Variant.from_inline(v) for v in entry.variants}
    resolved = []
    for variant_id in entry.all_variant_ids():
        if variant_id in inline:
            resolved.append(inline[variant_id])
        else:
            resolved.append((client or default_client()).get(variant_id))
    for variant in resolved:
        check_variant(variant)
    return resolved
