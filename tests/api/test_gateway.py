"""API Gateway's own decisions, from the template (issue 23, items 3 and 7): every route's
CORS preflight, CORS headers on API Gateway's own 4XX and 5XX, routing as API Gateway routes
(no fall-back to ``{proxy+}``), and ``--parameter-overrides`` for the local stack."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.serve import Served, pavi_serve

from pavi.local.cloudformation import Resolver, translate
from pavi.local.gateway import MISSING_ROUTE, Gateway
from pavi.local.parameters import ParameterError, check_overrides, parse_overrides
from pavi.local.template import StackModel

ORIGIN = "https://pavi.example.org"
PAVI = str(Path(sys.executable).with_name("pavi"))


def gateway(**parameters: str) -> Gateway:
    model = StackModel.load()
    return Gateway.of(Resolver(translate(model.template, model.root), parameters))


def test_every_route_of_the_template_answers_a_preflight_without_credentials() -> None:
    routes = gateway().routes
    assert len(routes) >= 9
    for route in routes:
        assert route.methods.get("OPTIONS") is True, route.path  # public: browsers send no key


def test_a_request_goes_to_the_most_specific_resource_and_never_falls_back() -> None:
    api = gateway()
    route, public = api.decide("OPTIONS", "/api/pipeline-job/0f8fad5b-d9cb-469f-a165-70867728950e")
    assert route is not None and route.path == "/api/pipeline-job/{uuid}" and public
    route, public = api.decide("POST", "/api/pipeline-job/")
    assert route is not None and route.path == "/api/pipeline-job/" and not public
    assert api.decide("GET", "/api/anything/else") == (None, False)  # {proxy+} has only OPTIONS
    assert api.decide("OPTIONS", "/api/anything/else")[1] is True
    assert api.decide("DELETE", "/api/pipeline-job/") == (None, False)
    # the defect: a named resource without OPTIONS is not helped by {proxy+}'s
    body = {"paths": {"/api/pipeline-job/": {"post": {}}, "/api/{proxy+}": {"options": {"security": []}}}}
    assert Gateway(body).decide("OPTIONS", "/api/pipeline-job/") == (None, False)
    assert Gateway(body).decide("OPTIONS", "/api/other")[1] is True


def test_api_gateways_own_answers_carry_cors_headers_when_origins_are_set() -> None:
    assert gateway().responses == {}  # no CorsOrigins: no CORS anywhere
    api = gateway(CorsOrigins=f"{ORIGIN},https://other.example")
    for status in (403, 429, 502):
        answer = api.with_headers({"statusCode": status, "body": "{}"})
        assert answer["headers"]["Access-Control-Allow-Origin"] == ORIGIN, status


def test_parameter_overrides_take_sam_deploys_syntax_and_checks() -> None:
    assert parse_overrides(["ApiAuth=NONE CorsOrigins='https://a.example,https://b.example'"]) == {
        "ApiAuth": "NONE",
        "CorsOrigins": "https://a.example,https://b.example",
    }
    assert parse_overrides(["ParameterKey=ApiAuth,ParameterValue=IAM"]) == {"ApiAuth": "IAM"}
    template = StackModel.load().template
    check_overrides(template, {"ApiAuth": "NONE", "MaxVcpus": "8"})
    with pytest.raises(ParameterError) as refused:
        check_overrides(template, {"Nope": "1", "ApiAuth": "OPEN", "MaxVcpus": "0", "LogRetentionDays": "2"})
    said = " ".join(refused.value.problems)
    for name in ("Nope", "ApiAuth", "MaxVcpus", "LogRetentionDays"):
        assert name in said
    with pytest.raises(ParameterError, match="'ApiAuth' is not Key=Value"):
        parse_overrides(["ApiAuth"])


def test_pavi_serve_refuses_parameters_the_deploy_would_refuse() -> None:
    done = subprocess.run(
        [PAVI, "serve", "--parameter-overrides", "ApiAuth=OPEN"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "ApiAuth" in done.stderr and "AllowedValues" in done.stderr


@pytest.fixture(scope="module")
def keyed() -> Iterator[Served]:
    with pavi_serve({"PAVI_LOCAL_CONTAINERS": "0"}, args=("--parameter-overrides", f"CorsOrigins={ORIGIN}")) as server:
        yield server


def test_a_browser_can_read_every_preflight_and_every_refusal(keyed: Served) -> None:
    job = "0f8fad5b-d9cb-469f-a165-70867728950e"
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    for path in ("/api/pipeline-job/", f"/api/pipeline-job/{job}", f"/api/pipeline-job/{job}/logs", "/api/health"):
        status, _, headers = keyed.request(path, "OPTIONS", headers=preflight, key=False)
        assert status < 300 and headers.get("Access-Control-Allow-Origin") == ORIGIN, (path, status, headers)
    status, body, headers = keyed.request("/api/pipeline-job/", "POST", [], headers={"Origin": ORIGIN}, key=False)
    assert status == 403 and headers["Access-Control-Allow-Origin"] == ORIGIN, body
    status, body, headers = keyed.request("/api/pipeline-job/", "DELETE", headers={"Origin": ORIGIN})
    assert (status, body) == (403, MISSING_ROUTE["body"].encode()) and headers["Access-Control-Allow-Origin"] == ORIGIN


def test_api_auth_none_serves_a_client_that_sends_no_key() -> None:
    with pavi_serve({"PAVI_LOCAL_CONTAINERS": "0"}, args=("--parameter-overrides", "ApiAuth=NONE")) as server:
        assert server.api_key == ""
        status, body, _ = server.request("/api/health", key=False)
        assert status == 200, body
