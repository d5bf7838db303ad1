"""The unread-count index skips reactions too, so counting never touches the table."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS messages_customer_timeline_idx")
        schema_editor.execute(
            "CREATE INDEX messages_customer_timeline_idx ON messages (room_id, created_at) "
            "WHERE user_id IS NULL AND content_type <> 'reaction'"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS messages_customer_timeline_idx")
        schema_editor.execute(
            "CREATE INDEX messages_customer_timeline_idx ON messages (room_id, created_at) "
            "WHERE user_id IS NULL"
        )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_search_and_unread_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
