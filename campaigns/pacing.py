"""Pacing rules for campaigns, in one place: the per-number send rate (a token bucket),
Meta's pair rate, back-off after Meta's throttling answers, and business hours."""

import time

from django.conf import settings

# Meta's answers that mean "slow down, try again": throughput (130429) and the pair rate
# to one customer (131056). Both are retried with growing delays.
THROTTLED = frozenset({130429, 131056})
# The marketing frequency cap: not retried at once; again only if the campaign says so.
FREQUENCY_CAPPED = 131049
# The access token is dead: every further send would fail the same way; pause.
TOKEN_EXPIRED = frozenset({190})
MAX_THROTTLE_ATTEMPTS = 8


def inside_business_hours(now) -> bool:
    """Whether the team is open at `now`, by the hours supervisors set (the hours app);
    with no hours set, or without that app, every moment is inside."""
    try:
        from hours.selectors import business_hours_open
    except ImportError:
        return True
    return business_hours_open(now)


def rate_for(phone_number_id: str) -> float:
    """Sends per second allowed for this business number (CAMPAIGN_RATES, else the
    default CAMPAIGN_RATE_PER_SECOND, Meta's default throughput of 80/s)."""
    return float(settings.CAMPAIGN_RATES.get(phone_number_id) or settings.CAMPAIGN_RATE_PER_SECOND)


def backoff_seconds(attempt: int) -> float:
    """Growing delays after a throttled send: 1, 2, 4, ... 60 s."""
    return float(min(60, 2 ** max(0, attempt - 1)))


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up: a quarter second's worth by
    default, so a worker that was held up (a slow transaction) catches up a little, and
    no second ever sees more than 1.25 times the rate. The bucket starts empty."""

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate / 4))
        self.clock = clock
        self.tokens = 0.0
        self.stamp = clock()
        self.blocked_until = 0.0

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, most: int) -> int:
        """Take up to `most` whole tokens now; how many were taken."""
        self._refill()
        if self.clock() < self.blocked_until:
            return 0
        n = int(min(most, self.tokens))
        self.tokens -= n
        return n

    def available(self) -> float:
        self._refill()
        return 0.0 if self.clock() < self.blocked_until else self.tokens

    def wait_seconds(self, tokens: float = 1.0) -> float:
        """How long until `tokens` tokens are there."""
        self._refill()
        blocked = max(0.0, self.blocked_until - self.clock())
        if self.tokens >= tokens:
            return blocked
        return max(blocked, (tokens - self.tokens) / self.rate)

    def hold(self, seconds: float) -> None:
        """Meta said slow down: send nothing for `seconds`."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)
        self.tokens = 0.0
