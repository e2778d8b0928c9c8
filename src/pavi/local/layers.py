"""What a Lambda function can import, as Lambda builds its environment (issue 27, item 5): the
runtime's standard library and SDK, the function's own code (``CodeUri``) and its layers.

Locally every function forks from one environment holding every package of the project, so a
function whose template lacks a layer it needs would still run here and fail on AWS. The worker
(:mod:`pavi.local.lambda_worker`) refuses the import of any other top-level package with the
error Lambda's runtime gives (``No module named ...``). An image function runs its image, which
holds what its Dockerfile installs: it is not limited here.

A layer's packages are its requirements file's, with what they install (their own requirements,
read from the installed distributions' metadata):

- the python3.13 runtime: ``boto3`` (and botocore, s3transfer, jmespath, dateutil, urllib3, six);
- ``PaviLayer`` (``ContentUri: src/``): the ``pavi`` package and ``src/requirements.txt``;
- ``BioLayer``: ``layers/biopython/requirements.txt`` (Biopython, numpy);
- ``PictureLayer``: ``layers/picture/requirements.txt`` (pymsaviz, matplotlib, Biopython);
- the Powertools managed layer: ``aws-lambda-powertools`` with its ``tracer`` extra.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

RUNTIME = ("boto3",)
POWERTOOLS = "powertools"  # the managed layer, named by its ARN in the template
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")


def layer_of(reference: Any) -> str | None:
    """A ``Layers`` item of the template: the logical ID of one of its layers, or
    :data:`POWERTOOLS` for the managed layer's ARN; None for any other."""
    if isinstance(reference, dict) and "Ref" in reference:
        return str(reference["Ref"])
    return POWERTOOLS if "AWSLambdaPowertoolsPython" in str(reference) else None


def requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements file (comments and blank lines left out)."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


LAYER_FILES = {
    "PaviLayer": "src/requirements.txt",
    "BioLayer": "layers/biopython/requirements.txt",
    "PictureLayer": "layers/picture/requirements.txt",
}


def layer_requirements(root: Path, layer: str) -> list[str]:
    if layer in LAYER_FILES:
        return requirements(root / LAYER_FILES[layer])
    if layer == POWERTOOLS:
        return ["aws-lambda-powertools[tracer]"]
    return []


@cache
def _top_levels() -> dict[str, set[str]]:
    """Each installed distribution (normalised name) and the top-level modules it provides."""
    provided: dict[str, set[str]] = {}
    for module, distributions in metadata.packages_distributions().items():
        for distribution in distributions:
            provided.setdefault(_normal(distribution), set()).add(module)
    return provided


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(wanted: list[str]) -> set[str]:
    """The distributions a list of requirements installs: each, its extras' and its own
    requirements, recursively (environment markers other than ``extra`` are taken as true)."""
    seen: set[str] = set()
    stack = list(wanted)
    while stack:
        requirement = stack.pop()
        found = _NAME.match(requirement)
        if not found:
            continue
        name, extras = _normal(found[1]), {e.strip() for e in (found[2] or "[]")[1:-1].split(",") if e.strip()}
        key = name + "".join(sorted(extras))
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            required = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in required:
            marker = line.split(";", 1)[1] if ";" in line else ""
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if extra is None or extra[1] in extras:
                stack.append(line.split(";", 1)[0])
    return seen


def importable(root: Path, layers: tuple[str, ...]) -> frozenset[str]:
    """The top-level modules a zip function with ``layers`` may import besides the standard
    library and its own code."""
    wanted = list(RUNTIME)
    for layer in layers:
        wanted += layer_requirements(root, layer)
    names = {"pavi"} if "PaviLayer" in layers else set()
    for distribution in _closure(wanted):
        names |= _top_levels().get(distribution, set())
    return frozenset(names)


class LayerGuard:
    """A ``sys.meta_path`` finder that refuses what the function's environment would not hold:
    a top-level module that is not in the standard library, the function's code or ``allowed``."""

    def __init__(self, allowed: frozenset[str], code_dir: str):
        self.allowed = allowed
        self.code_dir = Path(code_dir)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.split(".", 1)[0]
        if top in self.allowed or top in sys.stdlib_module_names or top.startswith("_"):
            return None
        if (self.code_dir / f"{top}.py").exists() or (self.code_dir / top).is_dir():
            return None
        raise ModuleNotFoundError(
            f"No module named '{top}' (not in this function's code or its layers: template.yaml's Layers)",
            name=top,
        )
