"""Realtime helper: the one way events leave the app, always after the commit.

Group names are built from primary keys only, never from user text.
"""

import json
import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger("boztell.realtime")

SUPERVISORS_GROUP = "supervisors"
AGENTS_GROUP = "agents"


def room_group(room_id) -> str:
    return f"room.{room_id}"


def user_group(user_id) -> str:
    return f"user.{user_id}"


def to_wire(data: dict) -> dict:
    """The payload as a client will see it: a JSON round trip (UUIDs, datetimes, decimals)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def broadcast(groups: Iterable[str], event: str, data: dict) -> None:
    """Send `{"event", "data"}` to each group now. A layer failure is logged, never raised:
    the data is already committed and clients catch up over REST."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "broadcast.event", "event": event, "data": to_wire(data)}
    for group in dict.fromkeys(groups):
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception as exc:  # Redis down must not fail a committed write
            logger.warning("event not delivered event=%s group=%s error=%s", event, group, exc)


def broadcast_on_commit(groups: Iterable[str], event: str, data: dict) -> None:
    """Queue an event to leave only once the surrounding transaction commits."""
    groups = list(groups)
    transaction.on_commit(lambda: broadcast(groups, event, data))
