"""Writes for users (create agents and supervisors, issue and revoke API tokens) and for
the event log (prune it)."""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from boztell.models import EventsPruned, User

logger = logging.getLogger("boztell.users")


def user_create(
    *,
    username: str,
    role: str = User.Role.AGENT,
    password: str | None = None,
    display_name: str = "",
    is_superuser: bool = False,
) -> User:
    if role not in User.Role.values:
        raise ValueError(f"role must be one of {', '.join(User.Role.values)}")
    with transaction.atomic():
        user = User.objects.create_user(
            username,
            password,
            role=role,
            display_name=display_name,
            is_superuser=is_superuser,
        )
    logger.info("user created id=%s role=%s", user.id, user.role)
    return user


def user_token_issue(*, user: User) -> Token:
    """Give the user a fresh API token; any token they had stops working."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
    logger.info("api token issued user=%s", user.id)
    return token


def user_token_revoke(*, user: User) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        logger.info("api token revoked user=%s", user.id)
    return bool(deleted)


# Oldest first by the created_at index (no sort of the whole backlog); one statement.
_PRUNE_BATCH = (
    "DELETE FROM events WHERE id IN "
    "(SELECT id FROM events WHERE created_at < %s ORDER BY created_at LIMIT %s) RETURNING id"
)


def events_prune(
    *,
    older_than: datetime,
    batch: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete events created before `older_than`, oldest first, `batch` rows a
    transaction (short locks on a busy log), and record the cursor pruned through in the
    same transaction, so GET /events never lets a client skip a deleted event unknowingly.
    Returns how many were deleted; `progress` gets the running total after each batch."""
    deleted = 0
    cutoff = connection.ops.adapt_datetimefield_value(older_than)  # as the column stores it
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PRUNE_BATCH, [cutoff, batch])
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return deleted
            through = max(ids)
            EventsPruned.objects.get_or_create(pk=1)
            EventsPruned.objects.filter(pk=1).update(
                through_cursor=Greatest("through_cursor", through), pruned_at=timezone.now()
            )
        deleted += len(ids)
        logger.info("events pruned: %d so far, through cursor %d", deleted, through)
        if progress:
            progress(deleted)


# Told when a supervisor changed how many open rooms a user may hold. Rooms registers its
# queue hand-out here (rooms/apps.py): the core must not import rooms.
CAPACITY_LISTENERS: list[Callable[..., None]] = []


def user_capacity_changed(*, user: User) -> None:
    """The user's capacity (`max_open_rooms`) was changed (admin: the user's page or the
    user list): whoever hands out rooms hears it, so a raised capacity takes rooms waiting
    in the user's team queues at once, after the commit, not at the next room to free."""
    logger.info("capacity changed user=%s max_open_rooms=%s", user.pk, user.max_open_rooms)
    for listener in CAPACITY_LISTENERS:
        listener(user_id=user.pk)


def user_access_changed(*, user: User) -> None:
    """The user was deactivated or given another role: after the commit their open sockets,
    in every process, are told (`access_revoked`) and closed; a reconnect gets what the
    user may see now, or is refused."""
    from boztell.realtime import broadcast_on_commit, user_group

    broadcast_on_commit(
        [user_group(user.pk)],
        "access_revoked",
        {"user_id": user.pk, "is_active": user.is_active, "role": user.role},
        logged=False,
    )
    logger.info("access changed user=%s active=%s role=%s", user.pk, user.is_active, user.role)


SYSTEM_USERNAME = "system"


def system_user() -> User:
    """The user automatic messages (the away message) are sent as: role agent, inactive,
    no usable password, so it can never log in, hold a token or open a socket. Made on
    first use; SYSTEM_USERNAME names it."""
    from django.conf import settings

    username = getattr(settings, "SYSTEM_USERNAME", SYSTEM_USERNAME)
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "display_name": "Boztell (automatic)",
                "role": User.Role.AGENT,
                "is_active": False,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            logger.info("system user created id=%s", user.id)
    return user
