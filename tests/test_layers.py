"""boztell/layers.py pipelines group sends through channels-redis's own connections and
sharding (private names). It falls back to plain group_send when they are gone, which is
correct but slower (bench/events.py --layers pubsub,pubsub-plain: webhook_worker 0.31-0.34
against 0.48-0.50 ms of CPU per update at 500/s, Redis 0.01 against 0.06). This test makes
a channels-redis upgrade that removes them fail loudly instead of silently slowing down."""

import asyncio

from django.conf import settings

from boztell.layers import PubSubChannelLayer


def test_channels_redis_still_has_what_the_pipelined_layer_uses():
    async def scenario():
        layer = PubSubChannelLayer(hosts=[settings.REDIS_URL], prefix="boztell-layers-test")
        inner = layer._get_layer()  # one per event loop
        assert hasattr(inner, "_get_group_channel_name") and hasattr(inner, "_get_shard")
        shard = inner._get_shard(inner._get_group_channel_name("some-group"))
        missing = [n for n in ("_lock", "_ensure_redis", "_redis") if not hasattr(shard, n)]
        await layer.flush()
        return missing

    assert asyncio.run(scenario()) == [], "channels-redis changed: see boztell/layers.py"


def test_group_send_many_delivers_in_order_through_redis():
    async def scenario():
        layer = PubSubChannelLayer(hosts=[settings.REDIS_URL], prefix="boztell-layers-test")
        channel = await layer.new_channel()
        await layer.group_add("ordered", channel)
        await layer.group_send_many([(["ordered"], {"type": "x", "n": n}) for n in range(20)])
        got = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(20)]
        await layer.flush()
        return got

    assert asyncio.run(scenario()) == list(range(20))
