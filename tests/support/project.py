"""The deployable parts of the project (template, state machine, functions, images), copied
so that a test can change one thing and run the local stack on the result.

``PAVI_TEST_PROJECT_ROOT`` points the tests of ``tests/stack/test_aws_constraints.py`` at
another checkout's deployable parts: the way to show that they fail on an earlier commit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# the layers' requirements decide what each local function may import (pavi.local.layers)
DEPLOYABLE = ("template.yaml", "statemachine", "functions", "batch_images", "layers", "src/requirements.txt")


def project_root() -> Path:
    return Path(os.environ.get("PAVI_TEST_PROJECT_ROOT") or REPO)


def copy_project(to: Path, source: Path | None = None) -> Path:
    """A copy of the deployable parts in ``to`` (which ``EmulatedStack(root=...)`` can run)."""
    source = source or project_root()
    to.mkdir(parents=True, exist_ok=True)
    for name in DEPLOYABLE:
        if (source / name).is_dir():
            shutil.copytree(source / name, to / name)
        else:
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, to / name)
    return to


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must occur ``count`` times) with ``new`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == count, f"{path.name}: {old!r} occurs {text.count(old)} times, not {count}"
    path.write_text(text.replace(old, new))
