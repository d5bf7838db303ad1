"""Data: stored leads and rooms in the libphonenumber rule (boztell/phones.py), rooms of
one customer merged (messaging.services.customers.conversation_merge), each change printed.

It runs the current service (messaging.services.customers.phones_renormalise), so it reads the models
as they are today: keep it the last migration that touches rooms, leads or messages
data, or squash it away once every deployment has run it."""

from django.db import migrations


def forwards(apps, schema_editor):
    Room = apps.get_model("rooms", "Room")
    Lead = apps.get_model("leads", "Lead")
    if not Room.objects.exists() and not Lead.objects.exists():
        return  # a new database: nothing stored yet
    from messaging.services.customers import phones_renormalise

    counts = phones_renormalise(write=lambda line: print(f"  {line}"))
    print(f"  phones_renormalise: {counts or 'nothing to do'}")


class Migration(migrations.Migration):
    dependencies = [
        ("rooms", "0002_room_bsuid_username"),
        ("leads", "0001_initial"),
        ("messaging", "0004_unread_index_without_reactions"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
