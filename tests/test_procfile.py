"""Every documented set-up is complete: each Procfile names real commands (and the
processes each set-up needs), and the one-server Procfile, started by honcho as real
processes, turns a customer's photo webhook into stored media."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import free_port, load_fixture, post_live, process_env, wait_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JPEG = b"\xff\xd8\xff\xe0" + b"customer-photo" * 100

# What each set-up must run (README, "Production"): HTTP and WebSockets, background
# work (media downloads), the event log's hourly prune, the campaign sender, and the
# queue's worker when queued.
NEEDED = {
    "Procfile": {"daphne", "db_worker", "events_prune", "campaign_worker"},
    "Procfile.throughput": {
        "gunicorn",
        "daphne",
        "webhook_worker",
        "db_worker",
        "events_prune",
        "campaign_worker",
    },
}


def procfile(name: str) -> dict[str, list[str]]:
    """name -> argv (leading VAR=value assignments dropped), as honcho reads the file."""
    processes = {}
    for line in (ROOT / name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            words = shlex.split(match.group(2))
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words.pop(0)
            processes[match.group(1)] = words
    return processes


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_each_procfile_runs_real_commands_and_everything_its_set_up_needs(name, settings):
    from django.core.management import get_commands, load_command_class

    # As production runs it: db_worker's --backend must name a database backend.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    processes = procfile(name)
    assert processes, f"{name} names no process"
    ran = set()
    for process, argv in processes.items():
        program = argv[0]
        if program == "python":
            assert argv[1] == "manage.py", process
            command = argv[2]
            app = get_commands().get(command)
            assert app is not None, f"{process}: no management command {command}"
            # The arguments parse as the command defines them (no typo survives).
            parser = load_command_class(app, command).create_parser("manage.py", command)
            parser.parse_args(argv[3:])
            ran.add(command)
        else:
            assert (BIN / program).exists(), f"{process}: {program} is not installed"
            target = next(a for a in argv if a.startswith("boztell."))
            module, _, attribute = target.partition(":")
            imported = __import__(module, fromlist=["_"])
            assert attribute == "" or hasattr(imported, attribute), target
            ran.add(program)
    assert NEEDED[name] <= ran, f"{name} lacks {NEEDED[name] - ran}"
    check = subprocess.run(
        [str(BIN / "honcho"), "-f", name, "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_readme_runs_each_procfile_with_honcho():
    readme = (ROOT / "README.md").read_text()
    assert "honcho start" in readme
    assert "honcho -f Procfile.throughput start" in readme


@pytest.mark.parametrize("name", ["Procfile", "Procfile.throughput"])
def test_the_readmes_honcho_export_writes_a_unit_for_every_process(name, tmp_path):
    """The README's `honcho export systemd` (it needs honcho's export extra, jinja2)."""
    assert "honcho export systemd" in (ROOT / "README.md").read_text()
    done = subprocess.run(
        [str(BIN / "honcho"), "export", "systemd", str(tmp_path), "-f", name, "-a", "boztell"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    processes = re.findall(r"^(\w+):", (ROOT / name).read_text(), flags=re.M)
    units = {p.name for p in tmp_path.iterdir()}
    assert processes
    for process in processes:
        assert f"boztell-{process}-1.service" in units, (process, sorted(units))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_one_server_procfile_stores_a_customers_photo(fake_graph, tmp_path):
    from django.core.files.storage import default_storage

    from messaging.models import Message
    from tests.fake_graph import TOKEN

    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    port = free_port()
    env = process_env(
        tmp_path,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        BIND_HOST="127.0.0.1",
        TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        WHATSAPP_API_BASE_URL=fake_graph.url,
        WHATSAPP_ACCESS_TOKEN=TOKEN,
        WEBHOOK_QUEUE="false",
    )
    log = (tmp_path / "honcho.log").open("w")
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "--no-colour", "start", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped together below
    )
    try:
        wait_port(port, proc=honcho)
        base = f"http://127.0.0.1:{port}"
        assert post_live(base, load_fixture("image")).status_code == 200
        message = Message.objects.get(wa_message_id__isnull=False, media_type="image")
        deadline = time.monotonic() + 60
        while message.metadata.get("media_status") != "ready":
            assert time.monotonic() < deadline, (tmp_path / "honcho.log").read_text()[-3000:]
            time.sleep(0.2)
            message.refresh_from_db()
        with default_storage.open(message.gcs_filename, "rb") as stored:
            assert stored.read() == JPEG
        health = requests.get(f"{base}/health", timeout=15).json()
        assert health["tasks"] == "ok" and health["status"] == "ok", health
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(timeout=5)
        log.close()
    output = (tmp_path / "honcho.log").read_text()
    for process in ("web", "worker", "prune"):
        assert f"{process}.1" in output, output[-3000:]
    assert "older than" in output, "events_prune ran once at start"
