"""Write src/pavi/aws/openapi.json from api/openapi.yaml (the document the API serves at
/openapi.json and renders at /api/docs; the Lambda runtime has no YAML parser).

Run after editing api/openapi.yaml: .venv/bin/python scripts/openapi_json.py
(tests/api/test_docs.py fails while the two differ).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "api" / "openapi.yaml"
TARGET = ROOT / "src" / "pavi" / "aws" / "openapi.json"


def rendered() -> str:
    return json.dumps(yaml.safe_load(SOURCE.read_text()), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(rendered())
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
