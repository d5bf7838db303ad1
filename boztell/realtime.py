"""Realtime helper: the one way events leave the app, always after the commit.

Group names are built from primary keys only, never from user text.
"""

import asyncio
import json
import logging
import os
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

logger = logging.getLogger("boztell.realtime")

SUPERVISORS_GROUP = "supervisors"
AGENTS_GROUP = "agents"


def room_group(room_id) -> str:
    return f"room.{room_id}"


def user_group(user_id) -> str:
    return f"user.{user_id}"


def team_group(team_id) -> str:
    """The agents of a team: they hear its unassigned rooms."""
    return f"team.{team_id}"


def to_wire(data: dict) -> dict:
    """The payload as a client will see it: a JSON round trip (UUIDs, datetimes, decimals)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


# (groups, event name, payload, log scope or None, audience or None); the log scope is
# (room_id, user_id); the audience is the room's assigned agents at the commit, for events
# to a room's group, so each socket decides by the visibility rule as of that commit
# (rooms.selectors.room_visible_given).
Event = tuple[list[str], str, dict, tuple | None, list | None]

# While a request handles a batch (a webhook body of up to 1,000 updates), committed
# events are collected here and sent together, in order, in one trip to the layer.
_deferred: ContextVar[list[Event] | None] = ContextVar("boztell_deferred_events", default=None)


def broadcast_many(events: list[Event]) -> None:
    """Hand committed events, in order, to this process's publisher and return at once:
    numbering them in the log and sending them to Redis never holds up a request whose
    data is already committed, and a slow or dead Redis never fails one."""
    if events:
        # new_message and room:new_message share one payload: encode it once.
        wire: dict[int, tuple[dict, dict]] = {}
        for _, _, data, _, _ in events:
            if id(data) not in wire:
                wire[id(data)] = (data, to_wire(data))  # `data` kept: its id stays unique
        _publisher().submit(
            [
                (groups, event, wire[id(data)][1], scope, audience)
                for groups, event, data, scope, audience in events
            ]
        )


def _log(events) -> list[int | None]:
    """Number the events in the event log (after the data's commit). A failure to log
    costs only the cursor: the event still goes out."""
    from boztell.bulk import insert_returning_ids
    from boztell.models import Event

    rows = [
        Event(event=event, room_id=scope[0], user_id=scope[1], data=data)
        for _, event, data, scope, _ in events
        if scope is not None
    ]
    try:
        if rows:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # The log is a catch-up aid, not the record (the data committed
                    # before it): no need to wait for its WAL flush on every request.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                insert_returning_ids(rows)
    except Exception as exc:  # the database is down after our commit: send uncursored
        logger.warning("event log write failed: %s", exc)
        connection.close()  # a broken connection is replaced on the next batch
        rows = []
    ids = iter(row.id for row in rows)
    return [next(ids, None) if scope is not None else None for _, _, _, scope, _ in events]


def _layer_message(event: str, data: dict, cursor, audience) -> dict:
    message = {"type": "broadcast.event", "event": event, "data": data, "cursor": cursor}
    if audience is not None:
        message["audience"] = audience
    return message


class _Publisher:
    """One event loop thread per process that sends events to the channel layer in the
    order they were committed, over the same Redis connections every time (a fresh
    loop per request would open fresh connections)."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.pid = os.getpid()
        # One thread (so one database connection) writes the event log, in order.
        self.log_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="boztell-log")
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="boztell-events", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.loop.create_task(self._drain())
        ready.set()
        self.loop.run_forever()

    def submit(self, events) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, events)

    async def _drain(self):
        while True:
            # Take everything waiting: under load, one log INSERT numbers many events.
            submissions = [await self.queue.get()]
            while not self.queue.empty():
                submissions.append(self.queue.get_nowait())
            events = [event for submission in submissions for event in submission]
            try:
                cursors = await self.loop.run_in_executor(self.log_writer, _log, events)
                await self._send(events, cursors)
            finally:
                for _ in submissions:
                    self.queue.task_done()

    async def _send(self, events, cursors):
        layer = get_channel_layer()
        if layer is None:
            return
        sends = [
            (list(dict.fromkeys(groups)), _layer_message(event, data, cursor, audience))
            for (groups, event, data, _, audience), cursor in zip(events, cursors, strict=True)
        ]
        # Redis down must not fail a committed write; the events stay in the log, for the
        # clients' catch-up over GET /events.
        if hasattr(layer, "group_send_many"):  # boztell.layers: one pipeline per shard
            try:
                await layer.group_send_many(sends)
            except Exception as exc:
                logger.warning("%d events not delivered: %s", len(sends), exc)
            return
        for groups, message in sends:
            for group in groups:
                try:
                    await layer.group_send(group, message)
                except Exception as exc:
                    logger.warning(
                        "event not delivered event=%s group=%s error=%s",
                        message["event"],
                        group,
                        exc,
                    )

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything submitted so far has been logged and handed to the layer."""
        asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop).result(timeout)


_publisher_instance: _Publisher | None = None
_publisher_lock = threading.Lock()


def _publisher() -> _Publisher:
    global _publisher_instance
    instance = _publisher_instance
    if instance is None or instance.pid != os.getpid():
        with _publisher_lock:
            instance = _publisher_instance
            if instance is None or instance.pid != os.getpid():
                instance = _publisher_instance = _Publisher()
    return instance


def close_event_log_connection() -> None:
    """Close the log writer's database connection (tests, before dropping the database)."""
    if _publisher_instance is not None and _publisher_instance.pid == os.getpid():
        from django.db import connections

        _publisher_instance.log_writer.submit(connections.close_all).result(timeout=5)


def flush_events(timeout: float = 5.0) -> None:
    _publisher().flush(timeout)


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


def broadcast_on_commit(
    groups: Iterable[str],
    event: str,
    data: dict,
    *,
    room_id=None,
    user_id=None,
    logged: bool = True,
    audience: list | None = None,
) -> None:
    """Queue an event to leave only once the surrounding transaction commits. Logged
    events get a cursor; `room_id` / `user_id` say who may read them back later. Events to
    a room's group carry `audience`, the room's assigned agents' ids at the commit."""
    item = (
        list(groups),
        event,
        data,
        (room_id, user_id) if logged else None,
        None if audience is None else [str(uid) for uid in audience],
    )

    def send():
        pending = _deferred.get()
        if pending is not None:
            pending.append(item)
        else:
            broadcast_many([item])

    transaction.on_commit(send)
