"""What API Gateway decides before the API function sees a request, from the template's
OpenAPI definition (``PaviApi``'s ``DefinitionBody``), for ``pavi serve`` (issue 23, item 3):

- **Routing.** A request goes to the most specific resource of the definition (at each
  level a literal segment before ``{param}``, and ``{param}`` before ``{proxy+}``). If that
  resource has no method for the request (an ``OPTIONS`` preflight included), API Gateway
  answers ``403 {"message": "Missing Authentication Token"}``: it does not fall back to a
  less specific resource that has one.
- **Integration.** Each method goes to the function its ``x-amazon-apigateway-integration``
  names (the API's function, or the picture function for a job's page and picture).
- **Security.** A method with ``security: []`` is public; any other takes the deployment's
  ``ApiAuth`` (checked by :class:`pavi.local.serve.ApiServer`).
- **Gateway responses.** Answers API Gateway makes itself (4XX, 5XX) carry the headers of the
  definition's ``x-amazon-apigateway-gateway-responses`` (``DEFAULT_4XX``, ``DEFAULT_5XX``),
  the CORS headers among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API_RESOURCE = "PaviApi"
MISSING_ROUTE = {"statusCode": 403, "body": '{"message": "Missing Authentication Token"}'}


@dataclass(frozen=True)
class Route:
    path: str  # the resource, e.g. /api/pipeline-job/{uuid}
    methods: dict[str, bool]  # METHOD -> public (security: [])
    targets: dict[str, str]  # METHOD -> its integration's URI (which names the function's ARN)

    def function(self, method: str, functions: dict[str, str]) -> str:
        """The name of the function (among ``functions``: name -> ARN) a method's integration invokes."""
        uri = self.targets.get(method.upper(), "")
        named = [name for name, arn in functions.items() if f"/functions/{arn}/invocations" in uri]
        if len(named) != 1:
            raise RuntimeError(f"{method} {self.path}: its integration {uri!r} names no function of the stack")
        return named[0]

    def rank(self, segments: list[str]) -> tuple[int, ...] | None:
        """How specifically this resource matches the request's path segments, or None."""
        mine = self.path.split("/")[1:]
        score: list[int] = []
        for index, part in enumerate(mine):
            if part.startswith("{") and part.endswith("+}"):
                return (*score, 0) if len(segments) > index else None
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                if not segments[index]:
                    return None
                score.append(1)
            elif part == segments[index]:
                score.append(2)
            else:
                return None
        return tuple(score) if len(mine) == len(segments) else None


class Gateway:
    """The routes and gateway responses of the deployment's API definition."""

    def __init__(self, body: dict[str, Any]):
        self.routes = [
            Route(
                path,
                {method.upper(): spec.get("security") == [] for method, spec in methods.items()},
                {
                    method.upper(): str((spec.get("x-amazon-apigateway-integration") or {}).get("uri", ""))
                    for method, spec in methods.items()
                },
            )
            for path, methods in (body.get("paths") or {}).items()
        ]
        self.responses: dict[str, dict[str, str]] = {}
        for kind, response in (body.get("x-amazon-apigateway-gateway-responses") or {}).items():
            parameters = response.get("responseParameters") or {}
            self.responses[kind] = {
                name.removeprefix("gatewayresponse.header."): str(value).strip("'")
                for name, value in parameters.items()
                if name.startswith("gatewayresponse.header.")
            }

    @classmethod
    def of(cls, resolver: Any) -> Gateway:
        resource = resolver.resources[API_RESOURCE]
        return cls(resolver.resolve(resource["Properties"]["Body"]))

    def route(self, path: str) -> Route | None:
        segments = path.split("/")[1:]
        ranked = [(rank, route) for route in self.routes if (rank := route.rank(segments)) is not None]
        return max(ranked, key=lambda pair: pair[0])[1] if ranked else None

    def decide(self, method: str, path: str) -> tuple[Route | None, bool]:
        """The resource a request goes to (None: API Gateway answers :data:`MISSING_ROUTE`),
        and whether its method is public."""
        route = self.route(path)
        if route is None or method.upper() not in route.methods:
            return None, False
        return route, route.methods[method.upper()]

    def with_headers(self, answer: dict[str, Any]) -> dict[str, Any]:
        """An answer of API Gateway's own, with its gateway response's headers."""
        status = int(answer.get("statusCode", 500))
        kind = "DEFAULT_4XX" if 400 <= status < 500 else "DEFAULT_5XX" if status >= 500 else ""
        headers = self.responses.get(kind, {})
        return {**answer, "headers": {**headers, **(answer.get("headers") or {})}} if headers else answer
