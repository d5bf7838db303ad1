"""Who is online: a user is online while at least one of their sockets is open, in any
tab and any server process. With Redis, each socket is a member of the user's sorted set
scored by its expiry (refreshed while open, so a crashed process's sockets age out);
without Redis (embedded default), one process keeps the count in memory."""

import time

from django.conf import settings

TTL_SECONDS = 90
REFRESH_SECONDS = 30

_local: dict[str, set[str]] = {}
_clients: dict = {}


def _key(user_id) -> str:
    prefix = (
        getattr(settings, "CHANNEL_LAYERS", {})
        .get("default", {})
        .get("CONFIG", {})
        .get("prefix", "boztell")
    )
    return f"{prefix}:presence:{user_id}"


def _redis():
    import asyncio

    import redis.asyncio as redis

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = redis.from_url(settings.REDIS_URL)
    return client


async def presence_connect(user_id, channel_name: str) -> bool:
    """Record the socket; True when the user just came online."""
    if not settings.REDIS_URL:
        sockets = _local.setdefault(str(user_id), set())
        sockets.add(channel_name)
        return len(sockets) == 1
    client, key, now = _redis(), _key(user_id), time.time()
    async with client.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {channel_name: now + TTL_SECONDS})
        pipe.zcard(key)
        pipe.expire(key, TTL_SECONDS * 2)
        _, _, count, _ = await pipe.execute()
    return count == 1


async def presence_refresh(user_id, channel_name: str) -> None:
    if settings.REDIS_URL:
        await _redis().zadd(_key(user_id), {channel_name: time.time() + TTL_SECONDS})


async def presence_disconnect(user_id, channel_name: str) -> bool:
    """Forget the socket; True when the user just went offline."""
    if not settings.REDIS_URL:
        sockets = _local.get(str(user_id), set())
        sockets.discard(channel_name)
        return not sockets
    client, key, now = _redis(), _key(user_id), time.time()
    async with client.pipeline(transaction=True) as pipe:
        pipe.zrem(key, channel_name)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        removed, _, count = await pipe.execute()
    return bool(removed) and count == 0


async def online_user_ids(user_ids) -> list:
    if not settings.REDIS_URL:
        return [uid for uid in user_ids if _local.get(str(uid))]
    client, now = _redis(), time.time()
    online = []
    for uid in user_ids:
        if await client.zcount(_key(uid), now, "+inf"):
            online.append(uid)
    return online


_sync_client = None


def online_user_ids_sync(user_ids) -> list:
    """online_user_ids for sync code (automatic assignment runs in requests and workers):
    one pipelined round trip over a per-process client."""
    global _sync_client
    user_ids = list(user_ids)
    if not settings.REDIS_URL:
        return [uid for uid in user_ids if _local.get(str(uid))]
    if _sync_client is None:
        import redis

        _sync_client = redis.from_url(settings.REDIS_URL)
    now = time.time()
    pipe = _sync_client.pipeline(transaction=False)
    for uid in user_ids:
        pipe.zcount(_key(uid), now, "+inf")
    return [uid for uid, count in zip(user_ids, pipe.execute(), strict=True) if count]
