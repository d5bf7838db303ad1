"""The one WebSocket endpoint, /ws/: every event an agent or client may see, live.

Frames are JSON `{"event": <name>, "data": {...}, "cursor": <int|null>}`. Client actions:
`join_room` / `leave_room` (`{"action", "room_id"}`), `typing` (`{"action", "room_id",
"is_typing"}`), `ping`.

Seeing a room is checked when it is used, not only on `join_room`: every event to a room's
group carries the room's assigned agents at its commit and every typing action reads them
now, so a socket that lost the room (assigned to someone else) leaves it with `room_left`,
in whichever process it lives. A user deactivated or given another role is closed (4403)
and reconnects with what the new role may see.
"""

import asyncio
import logging
import time
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from boztell import presence
from boztell.realtime import SUPERVISORS_GROUP, room_group

logger = logging.getLogger("boztell.realtime")

# Close codes: the 4000-4999 range is the application's (RFC 6455 7.4.2); 1008 is not
# one a server application may send through daphne's WebSocket library.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_ACCESS_REVOKED = 4403
TYPING_INTERVAL_SECONDS = 2.0


@database_sync_to_async
def _room_audience(user, room_id) -> list | None:
    """The room's audience (rooms.selectors.room_audience) if `user` may see the room
    now, else None."""
    from rooms.models import Room
    from rooms.selectors import room_audience, room_visible_given

    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        return None
    audience = [str(a) for a in room_audience(room=room)]
    return audience if room_visible_given(user=user, assigned_user_ids=audience) else None


@database_sync_to_async
def _team_ids(user) -> set[str]:
    from rooms.selectors import user_team_ids

    return user_team_ids(user=user)


@database_sync_to_async
def _hand_out(user_id) -> int:
    """The agent just came online: their teams' waiting rooms are handed out now."""
    from rooms.assignment import teams_hand_out

    return teams_hand_out(user_id=user_id)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        from rooms.selectors import user_event_groups

        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="authentication required")
            return
        self.user = user
        self.rooms: set[str] = set()
        self.typing_sent: dict[str, float] = {}
        # An agent hears the unassigned rooms of their teams (read once: a change of teams
        # in admin closes their sockets, as a change of role does).
        self.team_ids = set() if user.is_supervisor else await _team_ids(user)
        self.groups_joined = user_event_groups(user, self.team_ids)
        for group in self.groups_joined:
            await self._group_add(group)
        await self.send_json(
            {
                "event": "connected",
                "data": {"user_id": str(user.pk), "role": user.role},
                "cursor": None,
            }
        )
        try:
            came_online = await presence.presence_connect(user.pk, self.channel_name)
        except Exception:  # presence must not keep anyone from connecting
            came_online = False
        if came_online:
            await self._broadcast_presence("online")
            if self.team_ids:
                try:
                    await _hand_out(user.pk)
                except Exception:  # assignment must not keep anyone from connecting
                    logger.exception("hand-out on connect failed user=%s", user.pk)
        self.heartbeat = asyncio.create_task(self._keep_presence())

    async def _group_add(self, group):
        """After a Redis restart the first command on a pooled connection can fail once;
        a second try gets a fresh connection."""
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except (ConnectionError, OSError):
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code):
        user = getattr(self, "user", None)
        if user is None:
            return
        self.heartbeat.cancel()
        for group in [*self.groups_joined, *(room_group(r) for r in self.rooms)]:
            await self.channel_layer.group_discard(group, self.channel_name)
        try:
            went_offline = await presence.presence_disconnect(user.pk, self.channel_name)
        except Exception:
            went_offline = False
        if went_offline:
            await self._broadcast_presence("offline")

    async def _keep_presence(self):
        while True:
            await asyncio.sleep(presence.REFRESH_SECONDS)
            try:
                await presence.presence_refresh(self.user.pk, self.channel_name)
            except Exception as exc:  # retried on the next beat
                logger.warning("presence refresh failed user=%s: %s", self.user.pk, exc)

    async def _broadcast_presence(self, state: str):
        message = {
            "type": "broadcast.event",
            "event": "presence",
            "cursor": None,
            "data": {
                "user_id": str(self.user.pk),
                "username": self.user.username,
                "display_name": self.user.name,
                "status": state,
            },
        }
        # Supervisors only: sent to every agent, a mass reconnect (200 agents after a
        # deploy) became 200 x 200 frames and held live events up for seconds
        # (bench/events.py).
        try:
            await self.channel_layer.group_send(SUPERVISORS_GROUP, message)
        except Exception as exc:
            logger.warning("presence not delivered user=%s: %s", self.user.pk, exc)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A frame that is not JSON text gets an error frame, as a bad action does, rather
        # than closing the socket (AsyncJsonWebsocketConsumer would raise).
        if text_data is None:
            return await self._error("invalid_frame", "Frames must be JSON text, not binary.")
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser
            return await self._error("invalid_frame", "Frames must be JSON objects.")
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return await self._error("invalid_frame", "Frames must be JSON objects.")
        action = content.get("action")
        handlers = {
            "join_room": self._join_room,
            "leave_room": self._leave_room,
            "typing": self._typing,
            "ping": self._ping,
        }
        handler = handlers.get(action) if isinstance(action, str) else None
        if handler is None:
            return await self._error("unknown_action", f"Unknown action {str(action)[:40]!r}.")
        await handler(content)

    async def _room_id(self, content) -> str | None:
        try:
            return str(uuid.UUID(str(content.get("room_id"))))
        except ValueError:
            await self._error("invalid_room", "room_id is not a valid id.")
            return None

    async def _join_room(self, content):
        room_id = await self._room_id(content)
        if room_id is None:
            return
        if await _room_audience(self.user, room_id) is None:
            return await self._error(
                "room_not_visible", "You may not see this room.", room_id=room_id
            )
        self.rooms.add(room_id)
        await self._group_add(room_group(room_id))
        await self.send_json({"event": "room_joined", "data": {"room_id": room_id}, "cursor": None})

    async def _leave_room(self, content):
        room_id = await self._room_id(content)
        if room_id is None:
            return
        self.rooms.discard(room_id)
        await self.channel_layer.group_discard(room_group(room_id), self.channel_name)
        await self.send_json(
            {"event": "room_left", "data": {"room_id": room_id, "reason": "left"}, "cursor": None}
        )

    async def _typing(self, content):
        room_id = await self._room_id(content)
        if room_id is None:
            return
        if room_id not in self.rooms:
            return await self._error(
                "not_in_room", "Join the room before typing in it.", room_id=room_id
            )
        is_typing = bool(content.get("is_typing", True))
        now = time.monotonic()
        if is_typing and now - self.typing_sent.get(room_id, 0) < TYPING_INTERVAL_SECONDS:
            return  # throttled: the others already know
        audience = await _room_audience(self.user, room_id)
        if audience is None:
            return await self._lose_room(room_id)
        self.typing_sent[room_id] = now if is_typing else 0
        await self.channel_layer.group_send(
            room_group(room_id),
            {
                "type": "broadcast.event",
                "event": "typing",
                "cursor": None,
                "audience": audience,
                "sender_channel": self.channel_name,
                "data": {
                    "room_id": room_id,
                    "user_id": str(self.user.pk),
                    "display_name": self.user.name,
                    "is_typing": is_typing,
                },
            },
        )

    async def _ping(self, content):
        await self.send_json({"event": "pong", "data": {"time": time.time()}, "cursor": None})

    async def _error(self, code, message, **data):
        await self.send_json(
            {"event": "error", "data": {"code": code, "message": message, **data}, "cursor": None}
        )

    async def _lose_room(self, room_id: str):
        """The room is no longer this user's to see: stop hearing it, and say so."""
        self.rooms.discard(room_id)
        await self.channel_layer.group_discard(room_group(room_id), self.channel_name)
        await self.send_json(
            {
                "event": "room_left",
                "data": {"room_id": room_id, "reason": "not_visible"},
                "cursor": None,
            }
        )

    def _may_see(self, assigned_user_ids) -> bool:
        from rooms.selectors import room_visible_given

        return room_visible_given(
            user=self.user, assigned_user_ids=assigned_user_ids, team_ids=self.team_ids
        )

    async def broadcast_event(self, message):
        if message.get("sender_channel") == self.channel_name:
            return  # typing is for the others in the room
        event, data = message["event"], message["data"]
        audience = message.get("audience")
        if audience is not None and not self._may_see(audience):
            # A room event from after the room left this user (another process may not have
            # told us yet): dropped, and the room left.
            return await self._lose_room(str(data["room_id"]))
        await self.send_json({"event": event, "data": data, "cursor": message.get("cursor")})
        if event == "room_assigned":
            room_id = str(data["room_id"])
            audience = list(data["assigned_user_ids"])
            if data.get("team_id"):
                audience.append(f"team:{data['team_id']}")
            if room_id in self.rooms and not self._may_see(audience):
                await self._lose_room(room_id)
        elif event == "access_revoked":
            await self.close(code=CLOSE_ACCESS_REVOKED, reason="access changed")
