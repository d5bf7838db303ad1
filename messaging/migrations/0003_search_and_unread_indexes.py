"""PostgreSQL-only indexes: full-text search (Indonesian and English) over message text,
and customer messages by room and time (unread counts)."""

from django.db import migrations

SEARCH_INDEX = (
    "CREATE INDEX IF NOT EXISTS messages_text_search_idx ON messages USING gin (("
    "to_tsvector('indonesian'::regconfig, COALESCE(content_text, '')) || "
    "to_tsvector('english'::regconfig, COALESCE(content_text, ''))))"
)
UNREAD_INDEX = (
    "CREATE INDEX IF NOT EXISTS messages_customer_timeline_idx ON messages "
    "(room_id, created_at) WHERE user_id IS NULL"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_INDEX)
        schema_editor.execute(UNREAD_INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS messages_text_search_idx")
        schema_editor.execute("DROP INDEX IF EXISTS messages_customer_timeline_idx")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_templates_idempotency")]
    operations = [migrations.RunPython(forwards, backwards)]
