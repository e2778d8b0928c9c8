"""Zipped and unzipped size of each function and layer that `sam build` made.

    .venv/bin/python benchmarks/package_sizes.py [BUILD_DIR] [--json]

BUILD_DIR defaults to .aws-sam/build (scripts/checks.sh builds there). The zipped size is
what a deployment uploads (deflate, level 9, as `sam package` zips); Lambda's limits are
50 MB zipped per upload and 250 MB unzipped for a function with all its layers. It also
sums each function with the layers `template.yaml` gives it (the Powertools managed layer,
not built here, counted as POWERTOOLS_ALLOWANCE) and exits non-zero past either limit.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UNZIPPED_LIMIT = 250 * 1024 * 1024  # a function and all its layers
ZIPPED_LIMIT = 50 * 1024 * 1024  # one upload
# The managed Powertools layer (aws_lambda_powertools, pydantic, pydantic_core, the X-Ray SDK):
# about 18 MB as installed in .venv; counted high.
POWERTOOLS_ALLOWANCE = 30 * 1024 * 1024


def function_layers() -> dict[str, list[str]]:
    """Each zip function's layers built from this repository (by logical id), from template.yaml."""
    sys.path.insert(0, str(REPO / "src"))
    from pavi.local.template import load_template

    resources = load_template(REPO / "template.yaml")["Resources"]
    layers = {}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function" and "Layers" in resource["Properties"]:
            refs = resource["Properties"]["Layers"]
            layers[name] = [ref["Ref"] for ref in refs if isinstance(ref, dict) and "Ref" in ref]
    return layers


def over_limits(table: dict[str, dict[str, int]]) -> list[str]:
    """What breaks a limit: an upload past 50 MB zipped, a function with its layers past 250 MB."""
    problems = [
        f"{name}: {row['zipped_bytes']:,} bytes zipped, past {ZIPPED_LIMIT:,}"
        for name, row in table.items()
        if row["zipped_bytes"] > ZIPPED_LIMIT
    ]
    for function, layers in function_layers().items():
        if function not in table:
            continue
        total = sum(table[part]["unzipped_bytes"] for part in [function, *layers]) + POWERTOOLS_ALLOWANCE
        print(f"{function:<28} with its layers {total:>12,} of {UNZIPPED_LIMIT:,}")
        if total > UNZIPPED_LIMIT:
            problems.append(f"{function}: {total:,} bytes unzipped with its layers, past {UNZIPPED_LIMIT:,}")
    return problems


def sizes(folder: Path) -> tuple[int, int, int]:
    """Unzipped bytes, zipped bytes, files."""
    unzipped = files = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                unzipped += path.stat().st_size
                files += 1
                archive.write(path, path.relative_to(folder))
    return unzipped, len(buffer.getvalue()), files


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = Path(args[0]) if args else REPO / ".aws-sam" / "build"
    if not build.is_dir():
        sys.exit(f"{build} does not exist: run `sam build` (scripts/checks.sh) first")
    table = {}
    for folder in sorted(p for p in build.iterdir() if p.is_dir()):
        unzipped, zipped, files = sizes(folder)
        table[folder.name] = {"unzipped_bytes": unzipped, "zipped_bytes": zipped, "files": files}
    if "--json" in sys.argv:
        print(json.dumps(table, indent=1))
        return
    print(f"{'artifact':<28} {'unzipped':>12} {'zipped':>12} {'files':>7}")
    for name, row in table.items():
        print(f"{name:<28} {row['unzipped_bytes']:>12,} {row['zipped_bytes']:>12,} {row['files']:>7}")
    problems = over_limits(table)
    if problems:
        sys.exit("past Lambda's limits:\n" + "\n".join(problems))


if __name__ == "__main__":
    main()
