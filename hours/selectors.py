"""Business hours, the one place that says whether the team is open: the away message,
campaigns (send in opening hours) and response-time figures (count only open time) all
ask here.

    business_hours_open(at)   -> is the team open at `at`?
    next_opening(at)          -> when it next opens (`at` itself when open; None when it
                                 never opens within a year)
    closed_period_start(at)   -> when the closed period holding `at` began (None when open)

Times are aware datetimes; hours are read in BUSINESS_TIME_ZONE (Asia/Jakarta by default).
With no opening hours configured the team counts as always open (nothing is "after
hours" until a supervisor sets hours). A closed date closes its whole local day.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

HORIZON_DAYS = 370  # how far next_opening / closed_period_start look
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # the start of a closed period with no start


def business_time_zone() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "BUSINESS_TIME_ZONE", "Asia/Jakarta"))


@dataclass(frozen=True)
class Schedule:
    """The opening intervals per weekday (0 = Monday) and the closed dates, read once."""

    intervals: dict[int, list[tuple[time, time]]]
    closed_dates: frozenset[date]
    zone: ZoneInfo

    @property
    def configured(self) -> bool:
        return any(self.intervals.values())

    def _day(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening intervals as aware datetimes, in order."""
        if day in self.closed_dates:
            return []
        out = []
        for opens, closes in sorted(self.intervals.get(day.weekday(), [])):
            start = datetime.combine(day, opens, tzinfo=self.zone)
            end_day = day + timedelta(days=1) if closes == time(0) else day
            out.append((start, datetime.combine(end_day, closes, tzinfo=self.zone)))
        return out

    def is_open(self, at: datetime) -> bool:
        if not self.configured:
            return True
        local = at.astimezone(self.zone)
        return any(start <= at < end for start, end in self._day(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        if self.is_open(at):
            return at
        first = at.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS):
            for start, _ in self._day(first + timedelta(days=offset)):
                if start >= at:
                    return start
        return None

    def closed_period_start(self, at: datetime) -> datetime | None:
        if self.is_open(at):
            return None
        last = at.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS):
            ends = [end for _, end in self._day(last - timedelta(days=offset)) if end <= at]
            if ends:
                return max(ends)
        return LONG_AGO


def business_schedule() -> Schedule:
    """The schedule as supervisors set it in admin (two small queries). Call once and
    reuse it for many moments (a webhook body's messages, a metrics report)."""
    from hours.models import BusinessHours, ClosedDate

    intervals: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in BusinessHours.objects.values_list("weekday", "opens", "closes"):
        intervals.setdefault(weekday, []).append((opens, closes))
    closed = frozenset(ClosedDate.objects.values_list("date", flat=True))
    return Schedule(intervals=intervals, closed_dates=closed, zone=business_time_zone())


def business_hours_open(at: datetime | None = None, *, schedule: Schedule | None = None) -> bool:
    return (schedule or business_schedule()).is_open(at or timezone.now())


def next_opening(
    at: datetime | None = None, *, schedule: Schedule | None = None
) -> datetime | None:
    return (schedule or business_schedule()).next_opening(at or timezone.now())


def closed_period_start(
    at: datetime | None = None, *, schedule: Schedule | None = None
) -> datetime | None:
    return (schedule or business_schedule()).closed_period_start(at or timezone.now())


# Whether the away message is switched on with a text, as an SQL expression: asked inside
# a statement a path makes anyway (the webhook worker's take of queued bodies, which then
# passes the answer to away_messages_enqueue), it costs no trip of its own.
AWAY_MESSAGE_ON_SQL = "EXISTS (SELECT 1 FROM away_message WHERE id = 1 AND enabled AND text <> '')"


def away_message_on() -> bool:
    """Whether the away message is switched on with a text (AWAY_MESSAGE_ON_SQL). Asked
    after a webhook body's customer messages, so one plain statement rather than an ORM
    query (its compiling cost more than the answer)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {AWAY_MESSAGE_ON_SQL}")
        return bool(cursor.fetchone()[0])
