"""A new queued body wakes the webhook worker: NOTIFY from a statement trigger, so the
view's INSERT stays one statement (no separate pg_notify round trip)."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('webhook_deliveries', ''); RETURN NULL; END $$"
        )
        schema_editor.execute(
            "CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries "
            "FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS webhook_deliveries_notify ON webhook_deliveries")
        schema_editor.execute("DROP FUNCTION IF EXISTS webhook_deliveries_notify()")


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
