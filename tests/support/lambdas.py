"""Load the Lambda handlers of ``functions/`` as the Lambda runtime does, and a Lambda context."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class FakeContext:
    function_name: str = "pavi-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pavi-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load_handler(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """``functions/<function>/app.py``'s ``lambda_handler``, in a module of its own name."""
    path = REPO / "functions" / function / "app.py"
    name = f"pavi_function_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], Any] = module.lambda_handler
    return handler
