"""Room rows for the API, in the seed's `new_room_complete` shape (one shape for the room
list, the room detail and the event): rooms.serializers.RoomSerializer."""

from rooms.models import Room
from rooms.serializers import RoomSerializer


def room_row(room: Room, *, user) -> dict:
    """The room as `user` sees it: their unread count (annotated by rooms.selectors) and
    which filters it is in for them."""
    room.seen_by = user
    return RoomSerializer.render(room)
