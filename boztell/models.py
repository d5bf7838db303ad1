"""The team's users: agents and supervisors, with UUID keys (the seed's `users` table)."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, password=None, **fields):
        if not username:
            raise ValueError("username is required")
        user = self.model(username=self.model.normalize_username(username), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **fields):
        fields.setdefault("role", User.Role.SUPERVISOR)
        fields["is_superuser"] = True
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )
    display_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(
        default=True, help_text="Inactive users cannot log in, use the API or open a socket."
    )
    max_open_rooms = models.PositiveIntegerField(
        "capacity",
        default=10,
        help_text="Automatic assignment gives this agent at most this many open rooms.",
    )
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_supervisor(self) -> bool:
        return self.is_superuser or self.role == self.Role.SUPERVISOR

    @property
    def is_staff(self) -> bool:
        """Admin is the supervisors' UI: the role decides who may enter it."""
        return self.is_active and self.is_supervisor


class Event(models.Model):
    """Every delivered event, numbered in the order it left: the cursor a reconnecting
    client catches up from (`GET /events?after=<cursor>`)."""

    id = models.BigAutoField(primary_key=True)
    event = models.CharField(max_length=40)
    room_id = models.UUIDField(null=True, blank=True)
    user_id = models.UUIDField(null=True, blank=True, help_text="Set for one user's events.")
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "events"
        indexes = [models.Index(fields=["room_id", "id"], name="events_room_idx")]

    def __str__(self) -> str:
        return f"{self.id} {self.event}"


class EventsPruned(models.Model):
    """How far the event log has been pruned (one row): a client whose cursor is before
    `through_cursor` may have missed events and must reload instead of catching up."""

    through_cursor = models.BigIntegerField(default=0)
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "events_pruned"
        verbose_name_plural = "events pruned"

    def __str__(self) -> str:
        return f"pruned through {self.through_cursor}"
