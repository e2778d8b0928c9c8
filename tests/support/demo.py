"""The bundled demo payload with absolute FASTA paths (for tests that run jobs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def demo_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((REPO / "demo" / "payload.json").read_text())
    for entry in entries:
        entry["fasta_file_url"] = str(REPO / "demo" / entry["fasta_file_url"])
    return entries
