"""Realtime helper: the one way events leave the app, always after the commit.

Group names are built from primary keys only, never from user text.
"""

import json
import logging
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar

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


Event = tuple[list[str], str, dict]

# While a request handles a batch (a webhook body of up to 1,000 updates), committed
# events are collected here and sent together, in order, in one trip to the layer.
_deferred: ContextVar[list[Event] | None] = ContextVar("boztell_deferred_events", default=None)


def broadcast(groups: Iterable[str], event: str, data: dict) -> None:
    """Send `{"event", "data"}` to each group now."""
    broadcast_many([(list(groups), event, data)])


def broadcast_many(events: list[Event]) -> None:
    """Send events in order. A layer failure is logged, never raised: the data is already
    committed and clients catch up over REST."""
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def send_all():
        for groups, event, data in events:
            message = {"type": "broadcast.event", "event": event, "data": to_wire(data)}
            for group in dict.fromkeys(groups):
                try:
                    await layer.group_send(group, message)
                except Exception as exc:  # Redis down must not fail a committed write
                    logger.warning(
                        "event not delivered event=%s group=%s error=%s", event, group, exc
                    )

    async_to_sync(send_all)()


@contextmanager
def deferred_broadcasts():
    """Collect the events committed inside the block and send them once it ends."""
    token = _deferred.set([])
    try:
        yield
    finally:
        events = _deferred.get() or []
        _deferred.reset(token)
        broadcast_many(events)


def broadcast_on_commit(groups: Iterable[str], event: str, data: dict) -> None:
    """Queue an event to leave only once the surrounding transaction commits."""
    item = (list(groups), event, data)

    def send():
        pending = _deferred.get()
        if pending is not None:
            pending.append(item)
        else:
            broadcast_many([item])

    transaction.on_commit(send)
