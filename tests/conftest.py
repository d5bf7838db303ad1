"""Shared fixtures: users and API clients per role, the GCS emulator, an event tap, the fake
Graph API. Helpers that tests import live in tests/helpers.py."""

import os
from urllib.parse import urlparse

import pytest


def pytest_collection_modifyitems(config, items):
    """The SQLite pass (tests/settings_sqlite.py) skips what only the production profile
    can show, each with the reason its `postgresql_only` marker gives; nothing else."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    for item in items:
        marker = item.get_closest_marker("postgresql_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            assert reason, f"{item.nodeid}: postgresql_only needs a reason"
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}"))


def _delete_flush(original):
    """PostgreSQL's flush for tests: DELETE every table in one transaction, foreign keys
    checked at its commit (Django makes them DEFERRABLE INITIALLY DEFERRED), instead of
    one TRUNCATE of all 47 tables. The tables end as empty; TRUNCATE makes new files for
    each table and index and cost each `transaction=True` test ~0.4 s, DELETE on a test's
    few rows ~0.01 s. The only trigger (webhook_deliveries' NOTIFY) is on INSERT."""

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return ["SET CONSTRAINTS ALL DEFERRED"] + [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))}"
            for table in tables
        ]

    return sql_flush


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, plus: `transaction=True` tests are flushed with DELETE (above), and
    before the test database is dropped, close what still holds it open (the publisher's
    log writer connection and psycopg's pool)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", _delete_flush(DatabaseOperations.sql_flush))
        yield
    from django.db import connections

    from boztell.realtime import close_event_log_connection

    close_event_log_connection()
    for connection in connections.all():
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


@pytest.fixture(scope="session", autouse=True)
def gcs_emulator():
    """The real google-cloud-storage client talks to gcp-storage-emulator on loopback."""
    from django.conf import settings
    from gcp_storage_emulator.server import create_server

    if not settings.GS_BUCKET_NAME:  # the embedded profile keeps media on the local disk
        yield None
        return
    url = urlparse(os.environ["STORAGE_EMULATOR_HOST"])
    server = create_server(
        url.hostname, url.port, in_memory=True, default_bucket=settings.GS_BUCKET_NAME
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def agent(db):
    from tests.factories import UserFactory

    return UserFactory(username="agent-a", display_name="Agent A")


@pytest.fixture
def other_agent(db):
    from tests.factories import UserFactory

    return UserFactory(username="agent-b", display_name="Agent B")


@pytest.fixture
def supervisor(db):
    from tests.factories import SupervisorFactory

    return SupervisorFactory(username="super-s", display_name="Supervisor S")


def _token_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture
def agent_api(agent):
    return _token_client(agent)


@pytest.fixture
def other_agent_api(other_agent):
    return _token_client(other_agent)


@pytest.fixture
def supervisor_api(supervisor):
    return _token_client(supervisor)


@pytest.fixture
def tap():
    taps = []

    def make(*groups):
        from boztell.realtime import SUPERVISORS_GROUP
        from tests.helpers import EventTap

        tap = EventTap(groups or (SUPERVISORS_GROUP,))
        taps.append(tap)
        return tap

    yield make
    for t in taps:
        t.close()


@pytest.fixture
def fake_graph(settings):
    from tests.fake_graph import TOKEN, FakeGraph

    graph = FakeGraph(version=settings.WHATSAPP_API_VERSION).start()
    settings.WHATSAPP_API_BASE_URL = graph.url
    settings.WHATSAPP_ACCESS_TOKEN = TOKEN
    settings.WHATSAPP_BACKEND = "messaging.whatsapp.GraphClient"
    yield graph
    graph.stop()
