"""Room rows for the API, in the seed's `new_room_complete` shape (one shape for the room
list, the room detail and the event): rooms.serializers.RoomSerializer."""

from rooms.models import Room
from rooms.serializers import RoomSerializer


def room_row(room: Room) -> dict:
    return RoomSerializer.render(room)
