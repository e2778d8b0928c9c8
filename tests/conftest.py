"""Shared fixtures: conformance data, clean process-wide caches, a clean environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from pavi.domain.genome import forget_opened
from pavi.domain.sources import reset_clients
from pavi.domain.url_policy import ALLOWLIST_ENV
from pavi.domain.variant_api import VARIANT_API_ENV, reset_default_client
from pavi.local.interpreter import quicker_moto_server

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE = REPO.parent / "shared" / "conformance"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With xdist's ``--dist loadgroup`` (scripts/test.sh), a test file's tests stay on one
    worker (their module fixtures, a local stack, are made once) unless a test names its own group."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture(autouse=True)
def _clean_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    monkeypatch.delenv(VARIANT_API_ENV, raising=False)
    monkeypatch.setenv("PAVI_HTTP_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("PAVI_HTTP_READ_TIMEOUT", "5")
    monkeypatch.setenv("PAVI_HTTP_BACKOFF", "0.01")
    forget_opened()
    reset_clients()
    reset_default_client()
    yield
    forget_opened()
    reset_clients()
    reset_default_client()


@pytest.fixture(scope="session")
def conformance() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.fail(f"the conformance data is missing: expected {CONFORMANCE} (../shared beside the checkout)")
    return CONFORMANCE


@pytest.fixture(scope="session")
def genbank_payload(conformance: Path) -> list[dict[str, object]]:
    """The 51-transcript payload with its FASTA URL pointing at the conformance folder."""
    folder = conformance / "genbank"
    entries: list[dict[str, object]] = json.loads((folder / "payload.json").read_text())
    for entry in entries:
        entry["fasta_file_url"] = str(entry["fasta_file_url"]).replace("ORACLE_DIR/public", str(folder))
    return entries


@pytest.fixture(scope="session")
def genbank_expected(conformance: Path) -> dict[str, str]:
    expected: dict[str, str] = json.loads((conformance / "genbank" / "expected.json").read_text())
    return expected


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A local S3 (moto's server on a loopback port) for this process and its child processes."""
    quicker_moto_server()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield env
    finally:
        server.stop()
