"""Real server processes: two daphne processes sharing PostgreSQL and a Redis of the
test's own (so it can be stopped), real WebSocket clients."""

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import websockets

from tests.helpers import (
    free_port,
    post_live,
    process_env,
    spawn_daphne,
    start_daphne,
    stop,
    stop_all,
    text_webhook,
    wait_port,
)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class Redis:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for this test"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path)
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def servers(redis_server, tmp_path):
    env = process_env(
        tmp_path,
        REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
    )
    # Both boot at once, as a deploy starts them.
    started = [spawn_daphne(env) for _ in range(2)]
    try:
        for proc, port in started:
            wait_port(port, proc=proc)
        yield [f"127.0.0.1:{port}" for _, port in started]
    finally:
        stop_all([proc for proc, _ in started])


def post_webhook(host, wa_id, wamid, text):
    return post_live(f"http://{host}", text_webhook(wa_id, wamid, text, name="Scale"))


async def next_event(ws, names, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame["event"] in names:
            return frame


async def connect_with_retry(url, headers, seconds=15):
    """What a real client does: reconnect (with a pause) until the server takes it."""
    deadline = time.monotonic() + seconds
    while True:
        ws = await websockets.connect(url, additional_headers=headers)
        try:
            await next_event(ws, {"connected"}, timeout=5)
            return ws
        except (websockets.ConnectionClosed, TimeoutError):
            await ws.close()
            assert time.monotonic() < deadline, "could not reconnect"
            await asyncio.sleep(0.5)


def token_for(user):
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def test_a_webhook_posted_to_one_process_reaches_a_socket_on_the_other(servers, agent):
    key = token_for(agent)

    async def scenario():
        async with websockets.connect(
            f"ws://{servers[1]}/ws/", additional_headers={"Authorization": f"Token {key}"}
        ) as ws:
            await next_event(ws, {"connected"})
            response = await asyncio.to_thread(
                post_webhook, servers[0], "6281400000001", "wamid.SCALE-1", "across processes"
            )
            assert response.status_code == 200
            frame = await next_event(ws, {"new_room_complete"})
            assert frame["data"]["last_message"]["content_text"] == "across processes"

    asyncio.run(scenario())


def test_redis_down_loses_nothing_and_events_resume_when_it_returns(servers, redis_server, agent):
    from messaging.models import Message

    key = token_for(agent)
    auth = {"Authorization": f"Token {key}"}

    async def scenario():
        async with websockets.connect(f"ws://{servers[1]}/ws/", additional_headers=auth) as ws:
            await next_event(ws, {"connected"})
            await asyncio.to_thread(
                post_webhook, servers[0], "6281400000002", "wamid.R-1", "before the outage"
            )
            last = await next_event(ws, {"new_room_complete"})
            cursor = last["cursor"]

        redis_server.stop()
        for i in range(3):
            response = await asyncio.to_thread(
                post_webhook, servers[0], "6281400000002", f"wamid.R-DOWN-{i}", f"during outage {i}"
            )
            assert response.status_code == 200
        rooms = await asyncio.to_thread(
            requests.get, f"http://{servers[1]}/rooms/", headers=auth, timeout=10
        )
        assert rooms.status_code == 200

        redis_server.start()
        missed = await asyncio.to_thread(
            requests.get,
            f"http://{servers[1]}/events",
            params={"after": cursor},
            headers=auth,
            timeout=10,
        )
        texts = [e["data"]["content_text"] for e in missed.json()["results"]]
        assert texts == ["during outage 0", "during outage 1", "during outage 2"]

        async with await connect_with_retry(f"ws://{servers[1]}/ws/", auth) as ws:
            deadline = time.monotonic() + 20
            attempt = 0
            while True:  # the first sends after the outage may still find a dead connection
                attempt += 1
                await asyncio.to_thread(
                    post_webhook,
                    servers[0],
                    "6281400000002",
                    f"wamid.R-BACK-{attempt}",
                    f"after {attempt}",
                )
                try:
                    frame = await next_event(ws, {"new_message"}, timeout=2)
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "events never resumed"
            assert frame["data"]["content_text"].startswith("after")

    asyncio.run(scenario())
    assert Message.objects.filter(content_text__startswith="during outage").count() == 3


def test_presence_is_right_across_server_processes(servers, agent, supervisor):
    agent_auth = {"Authorization": f"Token {token_for(agent)}"}
    boss_auth = {"Authorization": f"Token {token_for(supervisor)}"}

    async def presence_frames(ws, seconds=1.5):
        frames = []
        try:
            while True:
                frame = await next_event(ws, {"presence"}, timeout=seconds)
                if frame["data"]["user_id"] == str(agent.id):
                    frames.append(frame["data"]["status"])
        except TimeoutError:
            return frames

    async def scenario():
        async with websockets.connect(
            f"ws://{servers[0]}/ws/", additional_headers=boss_auth
        ) as boss:
            await next_event(boss, {"connected"})
            tab_a = await websockets.connect(
                f"ws://{servers[0]}/ws/", additional_headers=agent_auth
            )
            await next_event(tab_a, {"connected"})
            tab_b = await websockets.connect(
                f"ws://{servers[1]}/ws/", additional_headers=agent_auth
            )
            await next_event(tab_b, {"connected"})
            assert await presence_frames(boss) == ["online"]
            await tab_a.close()
            assert await presence_frames(boss) == [], "still online in the other process"
            await tab_b.close()
            assert await presence_frames(boss) == ["offline"]

    asyncio.run(scenario())


def test_a_room_claimed_through_one_process_leaves_a_socket_in_the_other(
    servers, agent, other_agent
):
    """Issue 12.2: visibility on a socket is what REST says now, in every process."""
    from rooms.models import Room

    owner_auth = {"Authorization": f"Token {token_for(agent)}"}
    watcher_auth = {"Authorization": f"Token {token_for(other_agent)}"}
    assert post_webhook(servers[0], "6281400000020", "wamid.MOVE-1", "halo").status_code == 200
    room_id = str(Room.objects.get(phone="6281400000020").pk)

    async def joined(ws):
        await next_event(ws, {"connected"})
        await ws.send(json.dumps({"action": "join_room", "room_id": room_id}))
        await next_event(ws, {"room_joined"})
        return ws

    async def scenario():
        async with (
            websockets.connect(f"ws://{servers[1]}/ws/", additional_headers=watcher_auth) as w,
            websockets.connect(f"ws://{servers[0]}/ws/", additional_headers=owner_auth) as o,
        ):
            watcher, owner = await joined(w), await joined(o)
            claimed = await asyncio.to_thread(
                requests.post,
                f"http://{servers[0]}/rooms/{room_id}/assign",
                headers=owner_auth,
                timeout=10,
            )
            assert claimed.status_code == 200
            left = await next_event(watcher, {"room_left"})
            assert left["data"] == {"room_id": room_id, "reason": "not_visible"}
            response = await asyncio.to_thread(
                post_webhook, servers[0], "6281400000020", "wamid.MOVE-2", "rahasia"
            )
            assert response.status_code == 200
            got = await next_event(owner, {"room:new_message"})
            assert got["data"]["content_text"] == "rahasia"
            await watcher.send(json.dumps({"action": "ping"}))
            seen = []
            while (frame := json.loads(await asyncio.wait_for(watcher.recv(), 10)))["event"] != (
                "pong"
            ):
                seen.append(frame)
            assert "rahasia" not in json.dumps(seen)
            # REST says the same at the same moment.
            detail = await asyncio.to_thread(
                requests.get,
                f"http://{servers[1]}/rooms/{room_id}",
                headers=watcher_auth,
                timeout=10,
            )
            assert detail.status_code == 404

    asyncio.run(scenario())


def test_a_real_daphne_closes_an_anonymous_socket_with_4401_and_logs_no_traceback(tmp_path):
    log = (tmp_path / "daphne.log").open("w")
    proc, port = start_daphne(process_env(tmp_path), stderr=log)
    try:

        async def scenario():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/") as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd

        received = asyncio.run(scenario())
        assert received.code == 4401  # daphne passes no close reason on
    finally:
        stop(proc)
        log.close()
    text = (tmp_path / "daphne.log").read_text()
    assert "Traceback" not in text and "1011" not in text, text[-2000:]


def test_a_real_daphne_takes_a_cookie_handshake_only_from_its_own_origin(tmp_path, agent):
    from django.test import Client

    page = Client()
    page.force_login(agent)
    cookie = {"Cookie": f"sessionid={page.cookies['sessionid'].value}"}
    proc, port = start_daphne(process_env(tmp_path, ALLOWED_HOSTS="127.0.0.1"))
    url = f"ws://127.0.0.1:{port}/ws/"
    try:

        async def attempt(origin):
            try:
                async with websockets.connect(url, origin=origin, additional_headers=cookie) as ws:
                    return (await next_event(ws, {"connected"}))["data"]["user_id"]
            except websockets.InvalidStatus as refused:
                return refused.response.status_code

        assert asyncio.run(attempt(f"http://127.0.0.1:{port}")) == str(agent.pk)
        assert asyncio.run(attempt(f"http://127.0.0.1:{port + 1}")) == 403
        assert asyncio.run(attempt(f"https://127.0.0.1:{port}")) == 403
    finally:
        stop(proc)
