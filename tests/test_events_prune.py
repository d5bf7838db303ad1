"""The event log keeps EVENTS_KEEP_HOURS: `manage.py events_prune` deletes what is older,
and GET /events answers 410 cursor_expired to a cursor from the deleted part, never a
silent gap."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from boztell.models import Event, EventsPruned
from tests.helpers import load_fixture, signed_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_log():
    """The log writer commits on its own connection, so earlier tests' events outlive
    them; these tests start from an empty log (rolled back with the test)."""
    Event.objects.all().delete()


def _events(n: int, hours_ago: float) -> list[int]:
    """n team-wide events, created `hours_ago`; their cursors."""
    ids = [Event.objects.create(event="presence", data={"n": i}).id for i in range(n)]
    Event.objects.filter(id__in=ids).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return ids


def test_prune_deletes_only_events_older_than_the_kept_hours_in_batches(settings):
    settings.EVENTS_KEEP_HOURS = 72
    old = _events(25, hours_ago=100)
    kept = _events(3, hours_ago=1)
    out, err = StringIO(), StringIO()
    call_command("events_prune", "--batch", "10", stdout=out, stderr=err)
    assert list(Event.objects.order_by("id").values_list("id", flat=True)) == kept
    assert "Deleted 25 events older than 72 hours." in out.getvalue()
    assert "25 / 25" in err.getvalue()  # the progress bar's last step
    assert EventsPruned.objects.get().through_cursor == old[-1]
    call_command("events_prune", stdout=out, stderr=err)
    assert "No events older than 72 hours." in out.getvalue()
    assert EventsPruned.objects.get().through_cursor == old[-1]


def test_a_cursor_from_the_pruned_part_gets_410_with_where_to_follow_from(
    agent_api, supervisor_api
):
    old = _events(5, hours_ago=100)
    kept = _events(2, hours_ago=1)
    # Before any pruning every cursor catches up, 0 included.
    assert agent_api.get("/events", {"after": 0}).status_code == 200

    call_command("events_prune", "--keep-hours", "72", stdout=StringIO(), stderr=StringIO())

    for after in (0, old[0], old[-1] - 1):
        response = supervisor_api.get("/events", {"after": after})
        assert response.status_code == 410
        error = response.json()["error"]
        assert error["code"] == "cursor_expired"
        assert error["details"] == {"oldest_cursor": old[-1]}
    follow = agent_api.get("/events", {"after": old[-1]})
    assert follow.status_code == 200
    assert [e["cursor"] for e in follow.json()["results"]] == kept


def test_events_written_by_a_webhook_are_pruned_by_age_not_by_kind(
    client, supervisor_api, django_capture_on_commit_callbacks
):
    from boztell.realtime import flush_events

    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, load_fixture("text")).status_code == 200
    flush_events()
    logged = list(Event.objects.values_list("id", flat=True))
    assert logged, "the new room's event is in the log"
    call_command("events_prune", "--keep-hours", "1", stdout=StringIO(), stderr=StringIO())
    assert list(Event.objects.values_list("id", flat=True)) == logged
    call_command("events_prune", "--keep-hours", "0", stdout=StringIO(), stderr=StringIO())
    assert not Event.objects.exists()
    assert supervisor_api.get("/events", {"after": 0}).status_code == 410
    assert supervisor_api.get("/events", {"after": logged[-1]}).json()["results"] == []
