"""The schema is the seed's contract: table names, message columns, constraints, indexes."""

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import (
    LeadFactory,
    MessageFactory,
    RoomFactory,
    RoomParticipantFactory,
    UserFactory,
)

SEED_MESSAGE_COLUMNS = {
    "id": "uuid",
    "room_id": "uuid",
    "user_id": "uuid",
    "content_type": "text",
    "content_text": "text",
    "wa_message_id": "text",
    "reply_to_wa_message_id": "text",
    "reaction_emoji": "text",
    "reaction_to_wa_message_id": "text",
    "media_type": "text",
    "media_id": "text",
    "gcs_filename": "text",
    "gcs_url": "text",
    "file_size": "integer",
    "mime_type": "text",
    "original_filename": "text",
    "metadata": "jsonb",
    "status": "text",
    "status_timestamp": "timestamp with time zone",
    "created_at": "timestamp with time zone",
    "updated_at": "timestamp with time zone",
}


def _columns(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = %s",
            [table],
        )
        return {name: (kind, nullable == "YES") for name, kind, nullable in cursor.fetchall()}


@pytest.mark.django_db
def test_messages_table_has_exactly_the_seed_columns_and_types():
    columns = _columns("messages")
    assert {name: kind for name, (kind, _) in columns.items()} == SEED_MESSAGE_COLUMNS
    assert columns["user_id"][1] is True, "user_id NULL means the customer"
    assert columns["content_type"][1] is False, "content_type is NOT NULL in the seed"


@pytest.mark.django_db
def test_seed_table_names_exist():
    tables = set(connection.introspection.table_names())
    assert {"users", "rooms", "messages", "leads", "room_participants"} <= tables


@pytest.mark.django_db
def test_user_id_is_a_foreign_key_to_users():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "messages")
    fks = {c["foreign_key"] for c in constraints.values() if c["foreign_key"]}
    assert ("users", "id") in fks
    assert ("rooms", "id") in fks


@pytest.mark.django_db
def test_wa_message_id_is_unique_where_present_and_many_nulls_are_allowed():
    room = RoomFactory()
    MessageFactory(room=room, wa_message_id=None)
    MessageFactory(room=room, wa_message_id=None)
    MessageFactory(room=room, wa_message_id="wamid.SAME")
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(room=room, wa_message_id="wamid.SAME")
    assert room.messages.count() == 3


@pytest.mark.django_db
def test_room_timeline_is_served_by_an_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "messages")
    indexed = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["room_id", "created_at", "id"] in indexed


@pytest.mark.django_db
def test_room_phone_is_unique():
    RoomFactory(phone="6281200000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomFactory(phone="6281200000001")


@pytest.mark.django_db
def test_one_participant_row_per_user_and_room():
    participant = RoomParticipantFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomParticipantFactory(room=participant.room, user=participant.user)


@pytest.mark.django_db
def test_users_have_uuid_keys_roles_and_display_names():
    user = UserFactory(display_name="Andi")
    assert len(str(user.id)) == 36
    assert user.role == "agent"
    assert user.name == "Andi"
    assert not user.is_staff, "agents may not enter admin"


@pytest.mark.django_db
def test_lead_outstanding_is_an_exact_decimal_amount():
    lead = LeadFactory(outstanding="12345678901.25")
    lead.refresh_from_db()
    assert str(lead.outstanding) == "12345678901.25"
