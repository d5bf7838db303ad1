"""The channel layer: channels-redis's pub/sub layer, plus one round trip for many sends.

A webhook body or a busy second makes many events, each for two or three groups. Sent one
`group_send` at a time, each PUBLISH waits for Redis's answer before the next leaves;
`group_send_many` sends them all down one pipeline per Redis shard, in order. It uses
channels-redis 4's own channel naming and sharding (private names), so it falls back to
plain group_send when those are missing; the socket tests check events arrive either way,
and tests/test_layers.py fails loudly when a channels-redis upgrade removes them.

Why not the public API alone: `bench/events.py --setups queue --rates 500 --layers
pubsub,pubsub-plain,pubsub,pubsub-plain` (200 sockets, 500 updates/s, two runs each)
measured webhook_worker at 0.31-0.34 ms of CPU per update with this adapter against
0.48-0.50 with channels-redis's own layer (+45%), and Redis at 0.01 against 0.06.
"""

import asyncio
from collections import defaultdict

import channels.layers
from channels_redis.pubsub import RedisPubSubChannelLayer


class PubSubChannelLayer(RedisPubSubChannelLayer):
    async def group_send_many(self, sends: list[tuple[list[str], dict]]) -> None:
        """Publish each message to each of its groups, in order, pipelined per shard.
        Redis being down raises, as group_send does; the caller decides what that costs."""
        layer = self._get_layer()
        if not all(hasattr(layer, name) for name in ("_get_shard", "_get_group_channel_name")):
            # channels-redis changed its insides: one group_send at a time still works.
            for groups, message in sends:
                for group in groups:
                    await layer.group_send(group, message)
            return
        by_shard: dict = defaultdict(list)
        for groups, message in sends:
            data = self.serialize(message)
            for group in groups:
                channel = layer._get_group_channel_name(group)
                by_shard[layer._get_shard(channel)].append((channel, data))
        for shard, items in by_shard.items():
            async with shard._lock:
                shard._ensure_redis()
                async with shard._redis.pipeline(transaction=False) as pipe:
                    for channel, data in items:
                        pipe.publish(channel, data)
                    await pipe.execute()


class InMemoryChannelLayer(channels.layers.InMemoryChannelLayer):
    """Channels' in-memory layer (the embedded default), safe to send to from another
    thread. Events leave from the publisher's own thread and loop (boztell/realtime.py),
    but the sockets wait on daphne's loop, and an asyncio.Queue filled from another loop
    does not wake its waiter: the event sat there until something else woke the loop (a
    page that looked stuck). Sends from another loop are handed to the receiving loop."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._receiving_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel):
        self._receiving_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    def _foreign_loop(self):
        loop = self._receiving_loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return None
        return None if loop is asyncio.get_running_loop() else loop

    async def send(self, channel, message):
        loop = self._foreign_loop()
        if loop is None:
            return await super().send(channel, message)
        parent = super().send
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(parent(channel, message), loop))

    async def group_send(self, group, message):
        loop = self._foreign_loop()
        if loop is None:
            return await super().group_send(group, message)
        parent = super().group_send
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(parent(group, message), loop))
