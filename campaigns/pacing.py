"""Pacing rules for campaigns, in one place: the per-number send rate (a token bucket
shared by every worker process through Redis, else one per process), Meta's pair rate,
back-off after Meta's throttling answers, and business hours."""

import logging
import time

from django.conf import settings

logger = logging.getLogger("boztell.campaigns")

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

    def give_back(self, n: int) -> None:
        """Tokens taken and not used (fewer recipients were ready than taken)."""
        if n > 0:
            self._refill()
            self.tokens = min(self.burst, self.tokens + n)

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


# One business number's bucket, kept in Redis and changed only by this script, so every
# worker process (any number of campaigns on one number) draws from the same tokens. The
# clock is Redis's (TIME): processes on several hosts agree on it. Starts empty, like
# TokenBucket; forgotten after an idle hour.
_BUCKET_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local op, n = ARGV[3], tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'stamp', 'blocked')
local tokens = tonumber(s[1]) or 0
local stamp = tonumber(s[2]) or now
local blocked = tonumber(s[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local taken = 0
if op == 'take' then
  if now >= blocked then
    taken = math.min(n, math.floor(tokens))
    tokens = tokens - taken
  end
elseif op == 'give' then
  tokens = math.min(burst, tokens + n)
elseif op == 'hold' then
  blocked = math.max(blocked, now + n)
  tokens = 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now),
           'blocked', tostring(blocked))
redis.call('EXPIRE', KEYS[1], 3600)
return {taken, tostring(tokens), tostring(math.max(0, blocked - now))}
"""


REDIS_RETRY_SECONDS = 5.0


class SharedTokenBucket:
    """TokenBucket's rule for one business number across processes: take, give back and
    hold are one atomic script call each in Redis; `available` and `wait_seconds` are
    worked out from the last answer (another process may have taken tokens since: the
    next take says so, at worst one wasted round trip). If Redis cannot be reached, this
    process paces itself alone (a TokenBucket) until it can again."""

    def __init__(self, key: str, rate: float, client, burst: float | None = None):
        self.key = key
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate / 4))
        self.client = client
        self.script = client.register_script(_BUCKET_SCRIPT)
        self.local = TokenBucket(self.rate, self.burst)
        self.tokens = 0.0  # as Redis last said, at self.seen
        self.seen = time.monotonic()
        self.blocked_until = 0.0
        self.redis_back_at = 0.0  # after a Redis error, the local bucket until then

    def _call(self, op: str, n: float) -> int | None:
        import redis

        if time.monotonic() < self.redis_back_at:
            return None
        try:
            taken, tokens, blocked = self.script(
                keys=[self.key], args=[self.rate, self.burst, op, n]
            )
        except redis.RedisError as exc:
            logger.warning(
                "campaign pacing: Redis unreachable (%s); this process paces alone for %.0f s",
                exc,
                REDIS_RETRY_SECONDS,
            )
            self.redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
            return None
        self.seen = time.monotonic()
        self.tokens = float(tokens)
        self.blocked_until = self.seen + float(blocked)
        return int(taken)

    def take(self, most: int) -> int:
        taken = self._call("take", most)
        return self.local.take(most) if taken is None else taken

    def give_back(self, n: int) -> None:
        if n > 0 and self._call("give", n) is None:
            self.local.give_back(n)

    def hold(self, seconds: float) -> None:
        """Meta said the number is over its throughput: every process holds."""
        self.local.hold(seconds)
        self._call("hold", seconds)

    def available(self) -> float:
        now = time.monotonic()
        if now < self.redis_back_at:
            return self.local.available()
        if now < self.blocked_until:
            return 0.0
        return min(self.burst, self.tokens + (now - self.seen) * self.rate)

    def wait_seconds(self, tokens: float = 1.0) -> float:
        if time.monotonic() < self.redis_back_at:
            return self.local.wait_seconds(tokens)
        blocked = max(0.0, self.blocked_until - time.monotonic())
        have = self.available()
        if have >= tokens:
            return blocked
        return max(blocked, (tokens - have) / self.rate)


_redis_clients: dict = {}


def bucket_for(phone_number_id: str, rate: float | None = None):
    """The send-rate bucket of a business number: shared by every worker process through
    Redis when REDIS_URL is set (the production profile), else this process's own (the
    embedded default runs one worker). `rate` overrides rate_for (campaign_worker --rate)."""
    rate = float(rate or rate_for(phone_number_id))
    url = settings.REDIS_URL
    if not url:
        return TokenBucket(rate)
    import redis

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2
        )
    # One bucket per number per installation (its database): a benchmark or a test run on a
    # database of its own never shares tokens with another that shares the Redis.
    from django.db import connection

    database = connection.settings_dict.get("NAME") or "default"
    key = f"{settings.REDIS_KEY_PREFIX}:{database}:campaign-rate:{phone_number_id or 'default'}"
    return SharedTokenBucket(key, rate, client)
