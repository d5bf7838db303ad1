"""docs/messages-api.md is checked against the generated OpenAPI schema."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "messages-api.md"


@pytest.mark.django_db
def test_every_documented_endpoint_is_in_the_schema_and_back(supervisor_api):
    schema = supervisor_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    in_schema = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    documented = set(
        re.findall(r"^###? `(GET|POST|PUT|PATCH|DELETE) ([^`]+)`", DOC.read_text(), re.MULTILINE)
    )
    assert documented == in_schema


def test_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"cdn.jsdelivr" not in response.content, "assets are served locally"


def test_the_openapi_copy_in_docs_is_the_generated_schema(tmp_path):
    """docs/openapi.yaml is `manage.py spectacular --file docs/openapi.yaml`: regenerate it
    when the API changes."""
    from django.core.management import call_command

    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated))
    assert generated.read_text() == (DOC.parent / "openapi.yaml").read_text(), (
        "docs/openapi.yaml is stale: run manage.py spectacular --file docs/openapi.yaml"
    )
