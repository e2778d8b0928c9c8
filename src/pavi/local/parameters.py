"""``--parameter-overrides`` for ``pavi run``, ``pavi serve`` and ``pavi stack`` (issue 23,
item 7): the syntax of ``sam deploy --parameter-overrides`` and the checks CloudFormation
makes of a stack's parameters, so that a value the deploy would refuse is refused here, with
the parameter named.

Syntax (``sam deploy``'s): ``Key=Value`` pairs separated by spaces (quote a value with
spaces), or ``ParameterKey=Key,ParameterValue=Value``.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from typing import Any

_LONG_FORM = re.compile(r"^ParameterKey=([^,]+),ParameterValue=(.*)$")


class ParameterError(ValueError):
    """Overrides the deploy would refuse: every problem, each naming its parameter."""

    def __init__(self, problems: list[str]):
        super().__init__("--parameter-overrides: " + "; ".join(problems))
        self.problems = problems


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``Key=Value`` (or ``ParameterKey=Key,ParameterValue=Value``) tokens to a mapping."""
    overrides: dict[str, str] = {}
    problems = []
    for token in (t for item in items for t in shlex.split(item)):
        long_form = _LONG_FORM.match(token)
        if long_form:
            key, value = long_form[1], long_form[2]
        elif "=" in token and not token.startswith("="):
            key, value = token.split("=", 1)
        else:
            problems.append(f"{token!r} is not Key=Value")
            continue
        overrides[key] = value
    if problems:
        raise ParameterError(problems)
    return overrides


def _number_problem(name: str, value: str, spec: dict[str, Any]) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return f"Parameter '{name}' must be a number"
    if not math.isfinite(number):
        return f"Parameter '{name}' must be a number, not {value!r}"
    if "MinValue" in spec and number < float(spec["MinValue"]):
        return f"Parameter '{name}' must be a number not less than {spec['MinValue']}"
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        return f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}"
    return None


def check_overrides(template: dict[str, Any], overrides: dict[str, str]) -> None:
    """CloudFormation's checks of the overridden parameters: they exist, and each value keeps
    its ``AllowedValues``, ``AllowedPattern``, ``MinValue``/``MaxValue`` and length bounds."""
    declared: dict[str, Any] = template.get("Parameters", {})
    problems = []
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        problems.append(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    for name, value in overrides.items():
        spec = declared.get(name)
        if spec is None:
            continue
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            problems.append(f"Parameter '{name}' must be one of AllowedValues ({', '.join(allowed)}), not {value!r}")
        if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
            problems.append(f"Parameter '{name}' failed to satisfy constraint: {spec['AllowedPattern']}")
        if spec.get("Type") == "Number" and (problem := _number_problem(name, value, spec)):
            problems.append(problem)
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            problems.append(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
    if problems:
        raise ParameterError(problems)
