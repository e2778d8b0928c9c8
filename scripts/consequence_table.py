"""Write docs/consequences.md: the consequence and HGVS p. of each of the 49 conformance
variant cases, as the pipeline computes them (tests/unit/test_consequence.py checks it).

    .venv/bin/python scripts/consequence_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.variants import consequence_rows, consequence_table  # noqa: E402

if __name__ == "__main__":
    (REPO / "docs" / "consequences.md").write_text(consequence_table(consequence_rows()))
    print("wrote docs/consequences.md", file=sys.stderr)
