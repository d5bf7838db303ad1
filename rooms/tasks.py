"""Background work for rooms: a snooze ends by itself at its time."""

from django_tasks import task


@task()
def rooms_wake() -> int:
    """Queued for a snooze's time (run_after); opens every room that is due, so a lost or
    early task is made good by the next one (or by `manage.py rooms_wake`)."""
    from rooms.status import rooms_wake_due

    return rooms_wake_due()
