"""Fuzz the REST API from its own OpenAPI schema (schemathesis): no input gets a 5xx, and
every answer (status, content type, body) is what the schema documents. Bounded: a few
examples per operation. WhatsApp is the sandbox here (no token)."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from boztell.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token(transactional_db):
    from rest_framework.authtoken.models import Token

    from tests.factories import SupervisorFactory

    return Token.objects.create(user=SupervisorFactory(username="fuzzer")).key


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
def test_no_input_gets_a_server_error_and_every_answer_matches_the_schema(case, token):
    # Not schemathesis' checks that a request the schema allows must succeed (or one it
    # forbids must fail): the schema documents shapes, not the rules (window, ids, roles).
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


def _operations_with_a_body():
    import json
    import re

    from django.test import Client

    spec = json.loads(Client().get("/api/schema/", {"format": "json"}).content)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch") and "requestBody" in operation:
                yield method, re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", list(_operations_with_a_body()))
def test_a_json_body_nested_past_the_parser_is_a_400_on_every_operation(
    method, path, supervisor_api
):
    raw = "[" * 5000 + "]" * 5000
    response = getattr(supervisor_api, method)(path, data=raw, content_type="application/json")
    assert 400 <= response.status_code < 500, (method, path, response.content[:300])
    assert "error" in response.json()
