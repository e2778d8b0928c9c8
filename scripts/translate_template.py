"""Translate template.yaml to plain CloudFormation (JSON on stdout), offline.

Used by scripts/checks.sh so that checkov also reads what SAM generates (roles, policies,
permissions), not only what we wrote. Runs with the SAM CLI's Python (samtranslator).
Local code locations become placeholder S3 URIs, as `sam package` would make them, and the
state machine's DefinitionUri is inlined as its Definition.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

AWS_MANAGED = "arn:aws:iam::aws:policy/"
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": AWS_MANAGED + "service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": AWS_MANAGED + "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": AWS_MANAGED + "AWSXRayDaemonWriteAccess",
}


class StaticPolicies:
    """The managed-policy ARNs SAM looks up with IAM, without calling IAM."""

    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


def main(path: str = "template.yaml") -> None:
    root = Path(path).resolve().parent
    template: dict[str, Any] = yaml_parse(Path(path).read_text())
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://sam-artifacts/{name}.zip"
        if isinstance(properties.get("DefinitionUri"), str):
            properties["Definition"] = json.loads((root / properties.pop("DefinitionUri")).read_text())
    translated = transform(template, {}, StaticPolicies())  # type: ignore[arg-type]
    json.dump(translated, sys.stdout, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
