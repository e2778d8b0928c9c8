"""Translate template.yaml to plain CloudFormation (JSON on stdout), offline.

Used by scripts/checks.sh so that checkov also reads what SAM generates (roles, policies,
permissions), not only what we wrote. Runs with the SAM CLI's Python (samtranslator), and
makes the same translation as the local stack (pavi.local.cloudformation.translate): code
locations become placeholder S3 URIs, as `sam package` would make them, and the state
machine's DefinitionUri is inlined as its Definition.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pavi.local.cloudformation import translate
from pavi.local.template import load_template


def main(path: str = "template.yaml") -> None:
    template = Path(path).resolve()
    json.dump(translate(load_template(template), template.parent), sys.stdout, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
