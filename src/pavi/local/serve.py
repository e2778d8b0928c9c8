"""``pavi serve``: the API's routes on this machine, with the local runner behind them.

Each HTTP request becomes the API Gateway (REST, Lambda proxy) event the deployed API's
function receives, and goes through the same handler (``functions/api/app.py``, or
``functions/pictures/app.py`` for a job's page and picture, as the definition routes it); jobs run
in the unmodified state machine under :class:`pavi.local.stack.EmulatedStack`. So the web UI can be
developed offline against the API it will call in AWS.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import os
import secrets
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pavi.local.gateway import MISSING_ROUTE, Gateway
from pavi.local.retention import Retention
from pavi.local.stack import LOCAL_BUCKET, OPERATOR, EmulatedStack
from pavi.local.template import REGION


def proxy_event(
    method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The API Gateway REST proxy event of one HTTP request."""
    parts = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()} or None
    text = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "path": parts.path,
            "httpMethod": method,
            "resourcePath": "/{proxy+}",
            "identity": {"sourceIp": "127.0.0.1"},
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway's request payload limit (10 MB)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients at once: connections wait, they are not reset

    def __init__(self, address: tuple[str, int], stack: EmulatedStack, api_key: str | None = None):
        self.stack = stack
        self.auth = str(stack.resolver.parameters.get("ApiAuth", "NONE"))
        self.gateway = Gateway.of(stack.resolver)
        self.api_key = api_key or os.environ.get("PAVI_API_KEY") or secrets.token_urlsafe(24)
        super().__init__(address, _RequestHandler)

    def function(self, method: str, path: str) -> str:
        """The function a call that is not refused goes to."""
        route, _ = self.gateway.decide(method, urlsplit(path).path)
        assert route is not None
        return route.function(method, {name: spec.arn for name, spec in self.stack.functions.items()})

    def refusal(self, method: str, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        """API Gateway's answer to a call it does not pass to the function, or None: no method
        for it on its resource (:mod:`pavi.local.gateway`), or refused by the deployment's ``ApiAuth``.

        ``API_KEY``: the ``x-api-key`` header must be the stack's key. ``IAM``: a SigV4
        ``Authorization`` header must be there (its signature is not checked locally:
        ``docs/decisions.md`` §21).
        """
        route, public = self.gateway.decide(method, urlsplit(path).path)
        if route is None:
            return dict(MISSING_ROUTE)
        if public or self.auth == "NONE":
            return None
        given = {k.lower(): v for k, v in headers.items()}
        sent = given.get("x-api-key", "").encode("utf-8", "surrogateescape")  # any bytes a client sends
        if self.auth == "API_KEY" and not hmac.compare_digest(sent, self.api_key.encode()):
            return {"statusCode": 403, "body": '{"message": "Forbidden"}'}
        if self.auth == "IAM" and not given.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return {"statusCode": 403, "body": '{"message": "Missing Authentication Token"}'}
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def _body_length(self) -> tuple[int, dict[str, Any] | None]:
        """The body's length from its headers, or API Gateway's answer to headers it refuses
        (before a byte of the body is read): no length for a body, a length that is not a
        number, or one over API Gateway's 10 MB payload limit."""
        declared = self.headers.get("Content-Length")
        if declared is None:
            if self.headers.get("Transfer-Encoding"):
                return 0, {"statusCode": 411, "body": '{"message": "Length Required"}'}
            return 0, None
        if not declared.strip().isdigit():
            return 0, {"statusCode": 400, "body": '{"message": "Content-Length is not a number of bytes"}'}
        length = int(declared)
        if length > GATEWAY_PAYLOAD_LIMIT:
            return 0, {"statusCode": 413, "body": '{"message": "Request Entity Too Large"}'}
        return length, None

    def _handle(self) -> None:
        headers = dict(self.headers.items())
        length, answer = self._body_length()
        answer = answer or self.server.refusal(self.command, self.path, headers)  # the key before the body
        if answer is not None:  # an answer of API Gateway's own: its gateway response's headers
            answer = self.server.gateway.with_headers(answer)
        if answer is not None and (length or "Content-Length" in self.headers or "Transfer-Encoding" in self.headers):
            self.close_connection = True  # a body that is not read: the connection cannot be reused
        body = self.rfile.read(length) if length and answer is None else None
        if answer is None:
            event = proxy_event(self.command, self.path, body, headers)
            function = self.server.function(self.command, self.path)
            try:  # the function in its own process, with its own role, as API Gateway invokes it
                answer = self.server.stack.invoke(function, event)
            except RuntimeError as error:  # API Gateway's answer to a function error
                print(f"pavi serve: {self.command} {self.path}: {function} failed: {error}", file=sys.stderr)
                answer = self.server.gateway.with_headers(
                    {"statusCode": 502, "body": '{"message": "Internal server error"}'}
                )
        data = answer.get("body") or ""
        payload = base64.b64decode(data) if answer.get("isBase64Encoded") else str(data).encode()
        self.send_response(int(answer.get("statusCode", 500)))
        headers = dict(answer.get("headers") or {})
        for key, values in (answer.get("multiValueHeaders") or {}).items():
            headers[key] = ", ".join(values)
        for key, value in headers.items():
            if key.lower() not in {"content-length", "connection"}:
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        print(f"{self.address_string()} {format % args}", file=sys.stderr, flush=True)


def exports(stack: EmulatedStack) -> dict[str, str]:
    """What a shell needs for the AWS CLI (or any SDK) to use the local stack: its endpoint,
    region and an administrator's keys, and the stack's outputs."""
    keys = stack.principals[OPERATOR].credentials
    return {
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
        # StartSyncExecution's host is sync-<endpoint> on AWS; locally there is one endpoint
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "PAVI_STATE_MACHINE_ARN": stack.state_machine_arn,
        "PAVI_EXPRESS_STATE_MACHINE_ARN": stack.express_state_machine_arn,
        # the functions by name (aws lambda invoke --function-name NAME), each beside its ARN
        "PAVI_FUNCTIONS": " ".join(f"{name}={spec.arn}" for name, spec in stack.functions.items()),
        "PAVI_BUCKET": LOCAL_BUCKET,
    }


def keep_stack_up(parameters: dict[str, str] | None = None) -> int:
    """``pavi stack``: the local stack until interrupted, its ``export`` lines on stdout once ready."""
    import shlex
    import signal
    import threading

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    keep = int(os.environ.get("PAVI_LOCAL_KEEP_JOBS") or 200)
    with EmulatedStack(parameters=parameters) as stack, Retention(stack, keep):
        for name, value in exports(stack).items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        print("pavi stack: ready (eval the export lines above); Ctrl-C stops it", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return 0


def serve(host: str, port: int, parameters: dict[str, str] | None = None) -> int:
    keep = int(os.environ.get("PAVI_LOCAL_KEEP_JOBS") or 200)
    with EmulatedStack(parameters=parameters) as stack, Retention(stack, keep):
        server = ApiServer((host, port), stack)
        key = f"; send the header x-api-key: {server.api_key}" if server.auth == "API_KEY" else ""
        print(
            f"pavi serve: the PAVI API on http://{host}:{server.server_port}/api/ "
            f"(jobs run locally; results in the local bucket s3://{LOCAL_BUCKET}{key}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
