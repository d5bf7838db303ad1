"""Business hours (opening intervals per weekday, in BUSINESS_TIME_ZONE, Asia/Jakarta by
default), closed dates, and the away message a customer gets while the team is closed."""

from datetime import time

from django.core.validators import MaxLengthValidator
from django.db import models


class BusinessHours(models.Model):
    """One opening interval on a weekday: 08:00-12:00 and 13:00-17:00 are two rows.
    `closes` 00:00 means midnight at the end of the day; a night shift past midnight is
    two rows (22:00-00:00 on one day, 00:00-06:00 on the next)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        db_table = "business_hours"
        ordering = ["weekday", "opens"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")) | models.Q(closes=time(0)),
                name="business_hours_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__lte=6), name="business_hours_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosedDate(models.Model):
    """A whole day closed (a public holiday), whatever the weekday's hours say."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "closed_dates"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}".strip()


class AwayMessage(models.Model):
    """The one away message (row 1): sent by the system user to a customer who writes
    while closed, once per room per closed period."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    enabled = models.BooleanField(default=False)
    text = models.TextField(
        blank=True,
        validators=[MaxLengthValidator(4096)],
        default="Terima kasih telah menghubungi kami. Kami sedang tutup; tim kami akan "
        "membalas pada jam kerja berikutnya.",
    )
    quiet_minutes = models.PositiveIntegerField(
        default=30,
        help_text="No away message to a room where an agent wrote within this many minutes "
        "(before the customer's message, or since): the customer is being answered.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "away_message"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="away_message_one")]

    def __str__(self) -> str:
        return "Away message" + ("" if self.enabled else " (off)")


class AwayMessageSent(models.Model):
    """The away message went to this room in the closed period that began at
    `period_start`: the unique pair is the idempotency key that keeps a burst of customer
    messages (or two workers) from sending it twice."""

    room = models.ForeignKey(
        "rooms.Room", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_start = models.DateTimeField()
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "away_messages_sent"
        constraints = [
            models.UniqueConstraint(fields=["room", "period_start"], name="away_once_per_period")
        ]

    def __str__(self) -> str:
        return f"away message to {self.room_id} for the period from {self.period_start}"
