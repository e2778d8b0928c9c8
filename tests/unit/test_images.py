"""The Batch images' Dockerfiles: pinned base, non-root, the `pavi` command as entrypoint.

Images cannot be built here (no Docker engine); their entrypoint is tested as a local
process in test_cli_retrieve.py, run exactly as the job definition runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = sorted((ROOT / "batch_images").glob("*/Dockerfile"))


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.mark.parametrize("dockerfile", IMAGES, ids=lambda p: p.parent.name)
def test_base_is_pinned_and_user_is_not_root(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    args = dict(rest.split("=", 1) for keyword, rest in steps if keyword == "ARG" and "=" in rest)
    for keyword, rest in steps:
        if keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], rest.split(" AS ")[0].split()[0])
            assert re.search(r":\d+\.\d+\.\d+[-\w.]*$|@sha256:[0-9a-f]{64}$", image), f"{image} is not pinned"
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "the image must run as a non-root user"


@pytest.mark.parametrize("image", ["seq_retrieval", "alignment"])
def test_entrypoint_is_the_pavi_command(image: str) -> None:
    steps = dict(instructions(ROOT / "batch_images" / image / "Dockerfile"))
    assert json.loads(steps["ENTRYPOINT"]) == ["pavi"]
    assert (ROOT / ".dockerignore").read_text().startswith("*\n")


def test_alignment_image_pins_clustal_omega_1_2_4() -> None:
    text = (ROOT / "batch_images" / "alignment" / "Dockerfile").read_text()
    assert "clustalo=1.2.4-" in text


def test_the_alignment_image_is_also_the_lambda_lanes_alignment_function() -> None:
    """AlignFunction (template.yaml) runs this image: its ImageConfig starts the pinned runtime
    interface client on the handler file the image copies to the working directory."""
    from pavi.local.template import StackModel

    steps = instructions(ROOT / "batch_images" / "alignment" / "Dockerfile")
    function = StackModel.load(ROOT).template["Resources"]["AlignFunction"]
    config = function["Properties"]["ImageConfig"]
    assert config["EntryPoint"] == ["/usr/local/bin/python", "-m", "awslambdaric"]  # the python image's
    assert any("awslambdaric==" in rest for keyword, rest in steps if keyword == "RUN")
    module = config["Command"][0].split(".")[0]
    copied = [rest.split()[-2:] for keyword, rest in steps if keyword == "COPY" and "functions/" in rest]
    local = function["Metadata"]["LocalCodeUri"].rstrip("/")
    assert [f"{local}/{module}.py", f"{config['WorkingDirectory']}/{module}.py"] in copied
    assert "!" + f"{local}/{module}.py" in (ROOT / ".dockerignore").read_text().splitlines()
    assert function["Properties"]["Code"]["ImageUri"] == {"Ref": "AlignmentImageUri"}  # the Batch job's image
