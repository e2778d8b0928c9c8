"""The package's shape (docs/architecture.md): what each subpackage may import, no import
circles, no module over about 400 lines, and handlers that only name their function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "pavi"
MAX_MODULE_LINES = 400

# Subpackage -> the pavi subpackages and third-party top-level modules it must not import.
FORBIDDEN = {
    "pavi.domain": {"pavi.aws", "pavi.local", "pavi.cli", "aws_lambda_powertools", "moto", "yaml"},
    "pavi.aws": {"pavi.local", "pavi.cli", "moto", "yaml"},
    "pavi.local": {"pavi.cli"},
}
# Only these domain modules may reach S3 (through boto3, imported when an s3:// location is used).
BOTO3_IN_DOMAIN = {"pavi.domain.sources", "pavi.domain.storage"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text())
    type_checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def pavi_imports(name: str) -> set[str]:
    """The package's own modules that ``name`` imports (``from pavi.domain import storage`` included)."""
    return {imported for imported in imports_of(MODULES[name]) if imported in MODULES and imported != name}


def test_the_three_subpackages_and_the_cli_are_there() -> None:
    assert {"pavi.domain", "pavi.aws", "pavi.local", "pavi.cli"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_what_its_subpackage_may(name: str) -> None:
    imported = imports_of(MODULES[name])
    for package, forbidden in FORBIDDEN.items():
        if name == package or name.startswith(package + "."):
            bad = sorted(i for i in imported if any(i == f or i.startswith(f + ".") for f in forbidden))
            assert not bad, f"{name} imports {bad}, which {package} may not"
    if name.startswith("pavi.domain") and name not in BOTO3_IN_DOMAIN:
        assert not {i for i in imported if i.split(".")[0] in {"boto3", "botocore"}}, f"{name} imports boto3"


def test_there_is_no_import_circle() -> None:
    graph = {name: pavi_imports(name) for name in MODULES}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, "import circle: " + " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for imported in graph[name]:
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in graph:
        visit(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; split it by what it holds"


@pytest.mark.parametrize("app", sorted((REPO / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_each_function_only_names_its_handler_in_the_package(app: Path) -> None:
    tree = ast.parse(app.read_text())
    code = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    imports = [node for node in code if isinstance(node, ast.ImportFrom)]
    assert len(imports) == 1, f"{app}: one import of its handler, nothing else"
    (alias,) = imports[0].names
    assert imports[0].module and imports[0].module.startswith("pavi.aws."), imports[0].module
    assert alias.asname == "lambda_handler"
    others = [ast.unparse(node) for node in code if node is not imports[0]]
    assert others == ["__all__ = ['lambda_handler']"], others


def test_the_batch_host_runs_the_installed_entrypoint_and_never_imports_the_cli() -> None:
    assert "pavi.cli" not in imports_of(MODULES["pavi.local.batch_host"])
    assert not any(
        i.startswith("pavi.cli") for name in MODULES if name != "pavi.cli" for i in imports_of(MODULES[name])
    )


def test_the_package_version_is_pyprojects() -> None:
    """The version written into each job's provenance is the package's own (the Lambda layer
    carries the source without its install metadata, so it is a constant there)."""
    import tomllib

    import pavi

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert pavi.__version__ == pyproject["project"]["version"]
