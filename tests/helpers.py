"""Helpers the tests import: webhook bodies and signed posts, live server processes, an
event tap on the channel layer. Fixtures live in tests/conftest.py."""

import os

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "whatsapp")


def load_fixture(name: str) -> dict:
    import json

    with open(os.path.join(FIXTURES, f"{name}.json")) as handle:
        return json.load(handle)


def signed_post(client, body, *, secret=None, path="/webhooks/whatsapp"):
    """POST a webhook body the way Meta does: raw JSON, signed with the app secret."""
    import json

    from django.conf import settings

    from webhooks.signature import signature_for

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        path,
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature_for(raw, secret or settings.WHATSAPP_APP_SECRET),
    )


class EventTap:
    """Listens on channel-layer groups (through the real Redis layer) like a socket would.
    It keeps one event loop: a pub/sub layer is per loop, as it is per server process."""

    def __init__(self, groups):
        import asyncio

        from channels.layers import get_channel_layer

        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.groups = list(groups)
        self.channel = self.loop.run_until_complete(self._join())

    async def _join(self):
        channel = await self.layer.new_channel()
        for group in self.groups:
            await self.layer.group_add(group, channel)
        return channel

    def drain(self, timeout=0.3) -> list[tuple[str, dict]]:
        import asyncio

        from boztell.realtime import flush_events

        flush_events()

        async def collect():
            out = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
                except TimeoutError:
                    return out
                out.append((message["event"], message["data"]))

        return self.loop.run_until_complete(collect())

    def close(self):
        async def leave():
            for group in self.groups:
                await self.layer.group_discard(group, self.channel)

        try:
            self.loop.run_until_complete(leave())
        finally:
            self.loop.close()


# A daphne stopped while a request of a page closed a moment ago is still in flight does not
# exit by itself: that request's thread waits on the stopped event loop, and Python waits
# for the thread. An idle one exits in ~0.5 s; a browser test's server is killed past this
# (after stop's 5 s it was, in a third of the inbox tests).
PAGE_SERVER_STOP_SECONDS = 1.5


def stop(proc, timeout=5):
    """Stop a server process: politely, then for good (daphne waits on open sockets)."""
    stop_all([proc], timeout)


def stop_all(procs, timeout=5):
    """stop() for several processes, told to stop all at once."""
    import subprocess

    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 30, proc=None) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                raise AssertionError(f"nothing listening on {port}") from None
            time.sleep(0.1)


def process_env(log_dir, **extra) -> dict:
    """The environment for a real server process on this test run's database."""
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "boztell.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LOG_DIR": str(log_dir),
        **extra,
    }


def post_live(base_url: str, body, timeout: float = 20):
    """POST a webhook body to a live server over real HTTP, signed as Meta signs it."""
    import json

    import requests
    from django.conf import settings

    from webhooks.signature import signature_for

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{base_url}/webhooks/whatsapp",
        data=raw,
        timeout=timeout,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_for(raw, settings.WHATSAPP_APP_SECRET),
        },
    )


def start_daphne(env: dict, port: int | None = None, stderr=None):
    """A real daphne process serving the app on loopback; returns (process, port).
    `stderr`: an open file for its log (default: discarded)."""
    proc, port = spawn_daphne(env, port, stderr)
    wait_port(port, proc=proc)
    return proc, port


def spawn_daphne(env: dict, port: int | None = None, stderr=None):
    """start_daphne's process, returned at once, before it listens: wait_port(port)."""
    import subprocess
    import sys
    from pathlib import Path

    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "boztell.asgi:application",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr or subprocess.DEVNULL,
    )
    return proc, port


def text_webhook(wa_id: str, wamid: str, text: str, name: str = "Customer") -> dict:
    """A real-shaped webhook body carrying one text message from `wa_id`."""
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    value["messages"] = [
        {
            "from": wa_id,
            "id": wamid,
            "timestamp": "1764000000",
            "type": "text",
            "text": {"body": text},
        }
    ]
    return body
