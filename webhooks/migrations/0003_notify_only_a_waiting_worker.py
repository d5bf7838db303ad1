"""NOTIFY only when a worker is waiting for bodies. The waiting worker holds an advisory
lock (key 0x626F7A75, webhook_worker.IDLE_KEY); a busy one does not, and comes back for
the next bodies anyway. Skipping NOTIFY while it is busy saves PostgreSQL the queue write
and the lock that makes every notifying commit wait for the one before it.

An INSERT that skips NOTIFY holds the same lock, shared, until it commits: a worker going
idle takes it exclusively (so it waits for those INSERTs to commit), then looks once
more, so no body is left waiting for the poll."""

from django.db import migrations

NOTIFY_IF_WAITING = """
CREATE OR REPLACE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(1651473013) THEN  -- 0x626F7A75: held by a waiting worker
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$
"""
NOTIFY_ALWAYS = (
    "CREATE OR REPLACE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_notify('webhook_deliveries', ''); RETURN NULL; END $$"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTIFY_IF_WAITING)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTIFY_ALWAYS)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_notify_trigger")]
    operations = [migrations.RunPython(forwards, backwards)]
