"""The Lambda handlers of ``functions/``, loaded as the local runner loads them, a context, and
the headers of a proxy answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pavi.local.lambda_host import LambdaContext
from pavi.local.lambda_host import load_handler as load_function
from pavi.local.template import ACCOUNT, REGION, FunctionSpec

REPO = Path(__file__).resolve().parents[2]


def FakeContext() -> LambdaContext:
    return LambdaContext("pavi-test", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pavi-test")


def load_handler(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """``functions/<function>/app.py``'s ``lambda_handler``."""
    return load_function(FunctionSpec(f"test_{function}", REPO / "functions" / function, "app.lambda_handler", {}, 60))


def header(answer: dict[str, Any], name: str) -> str:
    """A header of an API Gateway proxy answer (``headers`` or ``multiValueHeaders``), "" if absent."""
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    headers.update({k.lower(): ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()})
    return str(headers.get(name.lower(), ""))
