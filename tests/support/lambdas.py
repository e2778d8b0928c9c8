"""The Lambda handlers of ``functions/``, loaded as the local runner loads them, and a context."""

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
