"""Writes for users: create agents and supervisors, issue and revoke API tokens."""

import logging

from django.db import transaction
from rest_framework.authtoken.models import Token

from boztell.models import User

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
