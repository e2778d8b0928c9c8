"""Zipped and unzipped size of each function and layer that `sam build` made.

    .venv/bin/python benchmarks/package_sizes.py [BUILD_DIR] [--json]

BUILD_DIR defaults to .aws-sam/build (scripts/checks.sh builds there). The zipped size is
what a deployment uploads (deflate, level 9, as `sam package` zips); Lambda's limits are
50 MB zipped per upload and 250 MB unzipped for a function with all its layers.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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


if __name__ == "__main__":
    main()
