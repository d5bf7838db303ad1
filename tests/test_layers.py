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


def _deliver_across_loops(layer) -> dict:
    """A socket waits on one loop (daphne's); an event is sent from another thread's loop
    (the publisher's). The receiver races the event against a 5 s guard timer."""
    import threading

    result: dict = {}
    ready = threading.Event()

    def receiver():
        async def main():
            result["channel"] = await layer.new_channel()
            receiving = asyncio.ensure_future(layer.receive(result["channel"]))
            await asyncio.sleep(0)  # receive() is waiting now
            ready.set()
            guard = asyncio.ensure_future(asyncio.sleep(5))
            done, _ = await asyncio.wait({receiving, guard}, return_when=asyncio.FIRST_COMPLETED)
            result["got"] = receiving.result() if receiving in done else None
            result["woken_by_the_guard"] = guard.done()
            guard.cancel()
            receiving.cancel()

        asyncio.run(main())

    thread = threading.Thread(target=receiver)
    thread.start()
    assert ready.wait(5)
    asyncio.run(layer.send(result["channel"], {"type": "broadcast.event", "n": 1}))
    thread.join(10)
    return result


def test_the_in_memory_layer_wakes_a_socket_waiting_on_another_loop():
    """The embedded default's events leave from the publisher thread: Channels' own layer
    left them in the queue until something else woke daphne's loop (a stuck-looking page;
    with it this test fails, woken by its 5 s guard)."""
    from boztell.layers import InMemoryChannelLayer

    result = _deliver_across_loops(InMemoryChannelLayer())
    assert result["got"] == {"type": "broadcast.event", "n": 1}
    assert not result["woken_by_the_guard"]
