"""boztell.bulk: the write path of webhook bursts keeps every value as Django would."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from boztell.bulk import FEW, insert_returning_ids
from messaging.models import Message
from tests.factories import RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def _messages(room, agent, count, tag):
    at = timezone.now().replace(microsecond=123456)
    return [
        Message(
            room=room,
            user=agent if i % 2 else None,
            content_type="text" if i % 3 else "image",
            content_text=None if i % 4 == 0 else f"hé 👋 'quoted' \"q\" {{{i}}} \\ ,",
            wa_message_id=f"wamid.{tag}-{i}",
            file_size=None if i % 2 else 2**31 - 1,
            metadata={"errors": [{"code": 131047, "title": "Re-engagement"}], "n": i, "x": None},
            # a TextChoices member and a naive-free aware datetime: what services pass
            status=Message.Status.DELIVERED if i % 2 else "sent",
            status_timestamp=at + dt.timedelta(seconds=i) if i % 3 else None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [3, FEW + 1, 40], ids=["values", "unnest-small", "unnest"])
def test_rows_written_in_bulk_read_back_as_the_orm_writes_them(count):
    room, agent = RoomFactory(), UserFactory()
    bulk = _messages(room, agent, count, f"B{count}")
    ids = insert_returning_ids(bulk)
    assert ids == [m.pk for m in bulk] and all(isinstance(pk, uuid.UUID) for pk in ids)

    one_by_one = _messages(room, agent, count, f"O{count}")
    for message in one_by_one:
        message.save()
    fields = [f.attname for f in Message._meta.concrete_fields if f.attname not in ("id",)]
    skip = {"id", "wa_message_id", "created_at", "updated_at"}
    for a, b in zip(bulk, one_by_one, strict=True):
        got = Message.objects.get(pk=a.pk)
        want = Message.objects.get(pk=b.pk)
        for name in fields:
            if name not in skip:
                assert getattr(got, name) == getattr(want, name), name
        assert got.status in ("sent", "delivered")  # the value, not the enum's name
        assert got.created_at is not None and got.updated_at is not None


def test_ignore_conflicts_returns_only_the_rows_written():
    room = RoomFactory()
    first = _messages(room, None, 12, "C")
    insert_returning_ids(first[:5])
    again = _messages(room, None, 12, "C")
    written = insert_returning_ids(again, ignore_conflicts=True)
    assert written == [m.pk for m in again[5:]]
    assert Message.objects.filter(room=room).count() == 12
