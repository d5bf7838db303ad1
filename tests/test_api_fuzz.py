"""Fuzz the REST API from its own OpenAPI schema (schemathesis): no input gets a 5xx.
Bounded: a few examples per operation. WhatsApp is the sandbox here (no token)."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

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
def test_no_input_gets_a_server_error(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
