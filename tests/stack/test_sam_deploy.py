"""``sam deploy`` with each section of ``samconfig.toml``, as the SAM CLI itself checks it,
offline (issue 23, items 1 and 2).

The SAM CLI checks its options before any AWS call: a deploy that gets as far as calling
AWS (here an endpoint that refuses connections) has passed them. The first defect was that
every section stopped at ``Missing option '--image-repositories'``: the SAM CLI counted the
alignment function as an image it had to push.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from support.project import REPO, copy_project, edit

SAM = REPO / ".tools" / "sam" / "bin" / "sam"
SECTIONS = sorted({name for name in tomllib.loads((REPO / "samconfig.toml").read_text()) if name != "version"})
PINNED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pavi-alignment@sha256:" + "ab" * 32


def sam_deploy(folder: Path, section: str, *extra: str) -> subprocess.CompletedProcess[str]:
    if not SAM.exists():
        pytest.fail(f"the SAM CLI is missing ({SAM}): scripts/setup-tools.sh installs it")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: the first AWS call fails at once
        "AWS_MAX_ATTEMPTS": "1",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    command = [str(SAM), "deploy", "--config-env", section, "--no-progressbar", *extra]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_project(tmp_path_factory.mktemp("deploy"))
    shutil.copy2(REPO / "samconfig.toml", folder / "samconfig.toml")
    for name in ("src", "layers"):  # the whole layers (the copy holds their requirements only)
        shutil.copytree(REPO / name, folder / name, dirs_exist_ok=True)
    return folder


@pytest.mark.parametrize("section", SECTIONS)
def test_every_samconfig_section_deploys_without_guided_or_an_image_repository(project: Path, section: str) -> None:
    done = sam_deploy(project, section)
    said = done.stdout + done.stderr
    assert "Missing option" not in said and "image-repositor" not in said, said[-2000:]
    assert "Could not connect to the endpoint URL" in said, said[-2000:]  # it went on to call AWS


def test_the_check_still_bites_a_function_sam_would_have_to_push(tmp_path: Path, project: Path) -> None:
    folder = copy_project(tmp_path / "literal")
    shutil.copy2(project / "samconfig.toml", folder / "samconfig.toml")
    edit(folder / "template.yaml", "PackageType: !FindInMap [AlignmentFunction, Package, Type]", "PackageType: Image")
    done = sam_deploy(folder, "prod")
    assert "Missing option '--image-repositories'" in done.stderr, done.stderr[-2000:]


def test_the_alignment_image_is_refused_unless_pinned_by_digest() -> None:
    """Item 2: both lanes run AlignmentImageUri, and only a digest names one image for good."""
    from pavi.local.parameters import ParameterError, check_overrides
    from pavi.local.template import StackModel

    template = StackModel.load(REPO).template
    check_overrides(template, {"AlignmentImageUri": PINNED})
    for tagged in (PINNED.split("@")[0] + ":0.1.0", PINNED.split("@")[0], PINNED[:-1]):
        with pytest.raises(ParameterError, match="AlignmentImageUri"):
            check_overrides(template, {"AlignmentImageUri": tagged})
    resources = template["Resources"]
    batch = resources["AlignmentJobDefinition"]["Properties"]["ContainerProperties"]["Image"]
    assert resources["AlignFunction"]["Properties"]["Code"]["ImageUri"] == batch == {"Ref": "AlignmentImageUri"}


@pytest.mark.parametrize("value", ["1e6", "5.7", "nan", "-1", "1023", " 2048"])
def test_integer_parameters_are_refused_unless_whole_numbers(value: str) -> None:
    """Issue 27, item 3: ``ApiMaxBodyBytes=1e6`` (or ``5.7``, ``nan``) passed the check and then every
    POST answered 500 (``int('1e6')``). The parameters the code reads as integers are whole numbers
    by the template's own constraint, which the local check is."""
    from pavi.local.parameters import ParameterError, check_overrides
    from pavi.local.template import StackModel

    template = StackModel.load(REPO).template
    for name in ("ApiMaxBodyBytes", "ApiMaxEntries", "RetrievalEntriesPerChild"):
        if value == "1023" and name != "ApiMaxBodyBytes":
            continue
        with pytest.raises(ParameterError, match=f"Parameter '{name}' failed to satisfy constraint"):
            check_overrides(template, {name: value})
    check_overrides(template, {"ApiMaxBodyBytes": "1024", "ApiMaxEntries": "1", "RetrievalEntriesPerChild": "1000"})
    for name, spec in template["Parameters"].items():
        if spec["Type"] == "Number" and value == "nan" and "AllowedValues" not in spec:
            with pytest.raises(ParameterError, match=f"Parameter '{name}' must be a number"):
                check_overrides(template, {name: value})


def test_the_api_functions_limits_are_the_templates_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27, item 3: ``pavi serve --parameter-overrides ApiMaxEntries=1`` still took 2 entries (the
    server set ``PAVI_MAX_ENTRIES=1000`` in its own environment). A variable the template gives a
    function comes from its parameters only; this process's ``PAVI_*`` cannot change it."""
    from pavi.local.stack import EmulatedStack
    from pavi.local.template import StackModel

    monkeypatch.setenv("PAVI_MAX_ENTRIES", "1000")
    defaults = {name: str(spec.get("Default")) for name, spec in StackModel.load(REPO).template["Parameters"].items()}
    for parameters, entries in (({}, defaults["ApiMaxEntries"]), ({"ApiMaxEntries": "1"}, "1")):
        stack = EmulatedStack(parameters=parameters)
        api = stack.functions["ApiFunction"]
        assert "PAVI_MAX_ENTRIES" not in stack.overrides(api.environment)
        assert api.environment["PAVI_MAX_ENTRIES"] == entries
