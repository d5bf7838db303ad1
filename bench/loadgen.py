"""A small asyncio HTTP/1.1 load generator on keep-alive connections (loopback only).

open_loop: a fixed request rate, latency measured from each request's scheduled time
(so queueing is counted, no coordinated omission). closed_loop: N connections sending
back to back, for the sustained rate."""

import asyncio
import gc
import os
import time
from collections.abc import Callable


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, path: str, body: bytes, headers: dict) -> int:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
            "Connection: keep-alive",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.writer.close()
            await self.open()
        return status


def quiet_collector() -> None:
    """Move the load generator's long-lived objects (prepared bodies, connections) out of
    the garbage collector's way, so its pauses are not counted as the server's latency."""
    gc.collect()
    gc.freeze()


def meta_envelope(value: dict) -> dict:
    """Meta's webhook body around one change value (the benches' business number)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "62811", "phone_number_id": "1"},
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def signed(body: dict, secret: str) -> tuple[bytes, str]:
    """The raw body and its X-Hub-Signature-256, as Meta signs it."""
    import hashlib
    import hmac
    import json

    raw = json.dumps(body).encode()
    return raw, "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def open_loop(
    host, port, make: Callable[[int], tuple], rate: float, seconds: float, connections: int = 64
):
    pool = [Conn(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in pool))
    idle: asyncio.Queue = asyncio.Queue()
    for c in pool:
        idle.put_nowait(c)
    latencies, errors = [], 0
    total = int(rate * seconds)
    quiet_collector()
    start = time.perf_counter()

    async def one(i):
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        path, body, headers = make(i)
        try:
            status = await conn.request(path, body, headers)
            if status != 200:
                errors += 1
        except Exception:
            errors += 1
            conn = Conn(host, port)
            await conn.open()
        latencies.append((time.perf_counter() - scheduled) * 1000)
        idle.put_nowait(conn)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    return {
        "sent": total,
        "errors": errors,
        "achieved": total / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


async def closed_loop(
    host, port, make: Callable[[int], tuple], seconds: float, connections: int = 32
):
    counter = 0
    done, errors = 0, 0
    latencies = []
    quiet_collector()
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal counter, done, errors
        conn = Conn(host, port)
        await conn.open()
        while time.perf_counter() < deadline:
            i = counter
            counter += 1
            path, body, headers = make(i)
            t0 = time.perf_counter()
            try:
                status = await conn.request(path, body, headers)
                errors += status != 200
            except Exception:
                errors += 1
                conn = Conn(host, port)
                await conn.open()
            latencies.append((time.perf_counter() - t0) * 1000)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return {
        "done": done,
        "errors": errors,
        "rps": done / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


ROLES = {
    "client": lambda cmd, pid: pid == os.getpid(),
    "gunicorn": lambda cmd, pid: "gunicorn" in cmd,
    "granian": lambda cmd, pid: "granian" in cmd,
    "daphne": lambda cmd, pid: "daphne" in cmd,
    "webhook_worker": lambda cmd, pid: "webhook_worker" in cmd,
    "postgres": lambda cmd, pid: cmd.startswith("postgres") or "/bin/postgres " in cmd,
    "redis": lambda cmd, pid: cmd.startswith("redis-server"),
}


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    return seen


def own_processes_only(database: str) -> None:
    """Count only this bench's own processes (its children and theirs) and PostgreSQL's
    backends on its own database: on a shared host other checkouts run gunicorn, workers
    and tests of their own, which would otherwise be counted as this bench's cost."""
    me = os.getpid()
    for role, match in list(ROLES.items()):
        if role == "postgres":
            ROLES[role] = lambda cmd, pid, m=match: m(cmd, pid) and f" {database} " in cmd
        elif role not in ("client", "redis"):
            ROLES[role] = lambda cmd, pid, m=match: m(cmd, pid) and me in _ancestors(pid)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each role's processes, from /proc:
    where a run's CPU went, to tell what limits it."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(ROLES, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for role, match in ROLES.items():
            if match(cmd, int(pid)):
                # utime, stime, and those of its children that ended: a PostgreSQL
                # backend that exits mid-run, wrk once the bench has waited for it
                used[role] += sum(int(x) for x in fields[11:15]) / ticks
                break
    return used


def peak_rss() -> dict[str, list[float]]:
    """Peak resident memory (VmHWM, MB) of each live process of each role, largest first.
    Read before the servers stop: a process's peak is gone with it."""
    peaks: dict[str, list[float]] = {role: [] for role in ROLES}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/status") as f:
                hwm = next((line for line in f if line.startswith("VmHWM:")), None)
        except OSError:
            continue
        if hwm is None:  # a kernel thread
            continue
        for role, match in ROLES.items():
            if match(cmd, int(pid)):
                peaks[role].append(int(hwm.split()[1]) / 1024)
                break
    return {role: sorted(mbs, reverse=True) for role, mbs in peaks.items() if mbs}


def print_peak_rss(rows: list[tuple[str, dict[str, list[float]]]]) -> None:
    """A table of peak RSS per process: one row per set-up, one cell per role listing each
    of its processes (PostgreSQL: its largest backend and how many there were)."""
    print("\nPeak memory (RSS, MB) per process:")
    for label, peaks in rows:
        cells = []
        for role, mbs in peaks.items():
            if role == "postgres":
                cells.append(f"postgres max {mbs[0]:.0f} ({len(mbs)} processes)")
            else:
                cells.append(f"{role} " + " / ".join(f"{mb:.0f}" for mb in mbs))
        print(f"  {label:<34} " + "; ".join(cells))


def used_roles(cpu_rows: list[dict]) -> list[str]:
    """The roles that used any CPU in these rows (a table leaves out servers not run)."""
    return [role for role in ROLES if any(cpu[role] > 0.005 for cpu in cpu_rows)]


def cpu_per_update(before: dict, after: dict, updates: int) -> dict[str, float]:
    """Milliseconds of CPU per update, by role, between two cpu_seconds() readings."""
    return {role: 1000 * (after[role] - before[role]) / max(updates, 1) for role in ROLES}


WRK_SCRIPT = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  requests = {}
  local nthreads = tonumber(os.getenv("BOZTELL_WRK_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BOZTELL_WRK_REQUESTS")) do
    if i % nthreads == tid then
      local a = line:find("\\t")
      local b = line:find("\\t", a + 1)
      local headers = {["Content-Type"] = "application/json"}
      local sig = line:sub(a + 1, b - 1)
      if sig ~= "-" then headers["X-Hub-Signature-256"] = sig end
      requests[#requests + 1] = wrk.format("POST", line:sub(1, a - 1), headers, line:sub(b + 1))
    end
    i = i + 1
  end
  n = 0
end
function request()
  n = n + 1
  return requests[((n - 1) % #requests) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BOZTELL %d %d %d %d %.3f\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(99) / 1000))
end
"""


def closed_loop_wrk(
    host, port, make: Callable[[int], tuple], seconds: float, connections: int, count: int
) -> dict:
    """The closed loop driven by wrk (C, from Debian's package), so the load generator
    takes a sliver of the CPU the Python one does. `count` distinct requests are prepared
    (more than can be sent), split between wrk's threads."""
    import subprocess
    import tempfile

    threads = 2
    with tempfile.TemporaryDirectory() as tmp:
        requests_path = os.path.join(tmp, "requests.tsv")
        with open(requests_path, "w") as f:
            for i in range(count):
                path, body, headers = make(i)
                sig = headers.get("X-Hub-Signature-256", "-")
                f.write(f"{path}\t{sig}\t{body.decode()}\n")
        script = os.path.join(tmp, "boztell.lua")
        with open(script, "w") as f:
            f.write(WRK_SCRIPT)
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "-s", script]
        out = subprocess.run(
            [*command, f"http://{host}:{port}/"],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "BOZTELL_WRK_REQUESTS": requests_path,
                "BOZTELL_WRK_THREADS": str(threads),
            },
            check=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BOZTELL "))
    done, micros, status_errors, socket_errors, p99 = line.split()[1:]
    done = int(done)
    return {
        "done": done,
        "errors": int(status_errors) + int(socket_errors),
        "rps": done / (int(micros) / 1e6),
        "p99": float(p99),
    }
