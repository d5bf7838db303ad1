"""Background work for business hours: the away message, after the inbound commit
(production: `manage.py db_worker`), so the webhook never waits on the Graph API."""

from datetime import datetime

from django_tasks import task

from hours.services import away_message_reply


@task()
def away_message_send(room_id: str, at: str) -> str:
    return away_message_reply(room_id=room_id, at=datetime.fromisoformat(at))
