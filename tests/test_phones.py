"""boztell/phones.py: libphonenumber in the default region, and the API's answer to a
number that cannot be one."""

import pytest

from boztell.phones import InvalidPhone, is_bsuid, normalize_phone, normalize_wa_id


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+62 812-3456-7890",
        "+62 0812 3456 7890",
        "+620812-3456-7890",
        "+6281234567890",
        "6281234567890",
        "62 812 3456 7890",
        "81234567890",
        "812-3456-7890",
        "(0812) 3456 7890",
        "006281234567890",
        6281234567890,
    ],
)
def test_indonesian_spellings_normalise_to_the_wa_id(raw):
    assert normalize_phone(raw) == "6281234567890"


def test_the_issue_s_spellings_reach_one_customer():
    spellings = ["+62 0812 3456 7001", "0812-3456-7001", "6281234567001", "+62 812-3456-7001"]
    assert {normalize_phone(s) for s in spellings} == {"6281234567001"}


def test_foreign_number_with_plus_keeps_its_country_code():
    assert normalize_phone("+1 415 555 0100") == "14155550100"
    assert normalize_phone("14155550100") == "14155550100"


def test_the_default_region_is_a_setting(settings):
    settings.PHONE_DEFAULT_REGION = "US"
    assert normalize_phone("(415) 555-0100") == "14155550100"


@pytest.mark.parametrize(
    "raw, words",
    [
        ("", "required"),
        (None, "required"),
        ("   ", "required"),
        ("0812abc4567", "not a phone number"),
        ("call me", "not a phone number"),
        ("0812", "not a valid phone number"),
        ("12345", "not a valid phone number"),
        ("12345678", "not a valid phone number"),
        ("+62 812 3456 7890 1234 5", "too many digits"),
        ("++6281234567890", "not a phone number"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(raw, words):
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw)
    assert caught.value.code == "invalid_phone"
    assert words in caught.value.message


def test_meta_wa_ids_keep_their_form():
    assert normalize_wa_id("6281234567001") == "6281234567001"
    assert normalize_wa_id("62081234567001") == "6281234567001"
    assert normalize_wa_id("16505551234") == "16505551234"
    with pytest.raises(InvalidPhone):
        normalize_wa_id("ID.2081978709342942")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ID.2081978709342942", True),
        ("US.13491208655302741918", True),
        ("US.ENT.11815799212886844830", True),
        ("6281234567001", False),
        ("id.123", False),
        ("ID.", False),
        ("@dewi", False),
    ],
)
def test_bsuids_are_told_from_phone_numbers(value, expected):
    assert is_bsuid(value) is expected


# --- the data migration: stored numbers in today's rule, one room per customer ----------


@pytest.mark.django_db
def test_renormalising_fixes_stored_numbers_and_merges_rooms_of_one_customer(capsys):
    import importlib
    from datetime import timedelta

    from django.apps import apps

    from messaging.models import Message
    from rooms.models import Room, RoomParticipant
    from tests.factories import LeadFactory, MessageFactory, RoomFactory, UserFactory

    lead = LeadFactory(phone="62081234567001", name="Dewi")  # the old rule's "+62 0812..."
    good = RoomFactory(phone="6281234567001", title="Dewi (WhatsApp)")
    bad = RoomFactory(phone="62081234567001", title="62081234567001")
    Room.objects.filter(pk=bad.pk).update(created_at=good.created_at + timedelta(hours=1))
    agent = UserFactory()
    RoomParticipant.objects.create(room=bad, user=agent, is_assigned=True)
    MessageFactory(room=good, wa_message_id="wamid.A")
    MessageFactory(room=bad, wa_message_id="wamid.B")
    lone = RoomFactory(phone="62081299990000", title="62081299990000")
    migration = importlib.import_module("rooms.migrations.0003_phones_renormalise")
    migration.forwards(apps, None)
    printed = capsys.readouterr().out
    assert f"merged into room {good.pk}" in printed and "62081299990000 -> 6281299990000" in printed
    lead.refresh_from_db()
    assert lead.phone == "6281234567001"
    room = Room.objects.get(pk=good.pk)
    assert not Room.objects.filter(pk=bad.pk).exists()
    assert room.lead == lead and Message.objects.filter(room=room).count() == 2
    assert RoomParticipant.objects.get(room=room).user == agent
    lone.refresh_from_db()
    assert lone.phone == "6281299990000" and lone.title == "6281299990000"


@pytest.mark.django_db
def test_the_command_reports_nothing_to_do_on_clean_data():
    from io import StringIO

    from django.core.management import call_command

    from tests.factories import RoomFactory

    RoomFactory(phone="6281234567001")
    out = StringIO()
    call_command("phones_renormalise", stdout=out)
    assert "nothing to do" in out.getvalue()
