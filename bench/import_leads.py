"""Lead import and export speed and memory: CSV and XLSX at 5,000 and 50,000 rows.

    .venv/bin/python bench/import_leads.py [--sizes 5000 50000]

Makes spreadsheets the way supervisors have them (Indonesian headers, phones in every
spelling, `Rp 12.500.000` amounts, dd/mm/yyyy due dates, DPD, branch; 1% broken rows and a
few repeated phones), then runs `manage.py import_leads` in a fresh process per file on a
fresh PostgreSQL database, twice: into an empty table (creates) and again with changed
amounts (updates). Prints wall time, rows/s and the process's peak RSS; then a segment
count over the 50,000 leads' JSON attributes and streamed exports (CSV, XLSX).
The issue's bar: a 50,000-row XLSX in <= 30 s with <= 300 MB peak RSS.
"""

import argparse
import csv
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
# BENCH_DB (bench/webhook.py) names a database of your own; this bench adds "_leads".
DB = os.environ.get("BENCH_DB", "boztell_bench") + "_leads"
BRANCHES = ["Jakarta", "Bandung", "Surabaya", "Medan", "Makassar"]
HEADER = [
    "Nama Nasabah",
    "No HP",
    "Sisa Pinjaman",
    "Jenis Pinjaman",
    "Status",
    "Tgl Jatuh Tempo",
    "Angsuran",
    "DPD",
    "Cabang",
]


def env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CHANNEL_LAYER_PREFIX": "boztell-bench-leads",
        "SECRET_KEY": "bench-secret-key-" + "z" * 40,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_DIR": str(ROOT / "bench" / "results"),
        "DJANGO_SETTINGS_MODULE": "boztell.settings",
        "PYTHONPATH": str(ROOT),
    }


def fresh_database():
    """As bench/webhook.py's: a copy of BENCH_TEMPLATE_DB when it names one."""
    template = os.environ.get("BENCH_TEMPLATE_DB")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}" + (f" TEMPLATE {template}" if template else ""))
    if template:
        return
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env(),
        check=True,
    )


def empty_leads():
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as c:
        c.execute("TRUNCATE leads, lead_attributes, lead_imports CASCADE")


def phone_spelling(i: int, rng: random.Random) -> str:
    digits = f"812{i:08d}"
    return rng.choice(
        [
            f"0{digits}",
            f"+62 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"62{digits}",
            f"0{digits[:3]} {digits[3:7]} {digits[7:]}",
        ]
    )


def money_spelling(amount: int, rng: random.Random) -> str:
    dotted = f"{amount:,}".replace(",", ".")
    return rng.choice([f"Rp {dotted}", str(amount), f"{dotted},00", f"{amount:,}"])


def rows(n: int, *, seed: int, bump: int = 0):
    rng = random.Random(seed)
    today = dt.date.today()
    for i in range(n):
        if i % 100 == 99:
            yield [f"Rusak {i}", "bukan nomor", "Rp 1.000", "KTA", "new", "", "", "", ""]
            continue
        j = i - 1 if i % 500 == 250 else i  # a repeated phone now and then
        due = today + dt.timedelta(days=rng.randint(-60, 60))
        yield [
            f"Nasabah {i}",
            phone_spelling(j, rng),
            money_spelling(rng.randint(1, 200) * 250_000 + bump, rng),
            rng.choice(["KTA", "Kredit Motor", "Paylater", "KPR"]),
            rng.choice(["new", "Hot", "WARM", "collection"]),
            due.strftime("%d/%m/%Y"),
            money_spelling(rng.randint(1, 40) * 50_000, rng),
            str(rng.randint(0, 120)),
            rng.choice(BRANCHES),
        ]


def write_csv(path: Path, n: int, bump: int):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows(n, seed=n, bump=bump))


def write_xlsx(path: Path, n: int, bump: int):
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Nasabah")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows(n, seed=n, bump=bump), start=1):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    workbook.close()


def run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of that one process, its output."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(out)
    return seconds, usage.ru_maxrss / 1024, out


def query_seconds(sql: str) -> tuple[float, int]:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}") as c:
        c.execute(sql).fetchall()  # warm
        started = time.perf_counter()
        for _ in range(5):
            value = c.execute(sql).fetchone()[0]
        return (time.perf_counter() - started) / 5, value


EXPORT_SCRIPT = """
import sys, time
import django
django.setup()
from inbox.selectors import LEAD_ROOM_COLUMNS, leads_with_room_facts
from leads.export import csv_chunks, xlsx_chunks
from leads.models import Lead
fmt = sys.argv[1]
started = time.perf_counter()
chunks = (csv_chunks if fmt == "csv" else xlsx_chunks)(
    leads_with_room_facts(Lead.objects.all()), LEAD_ROOM_COLUMNS
)
size = sum(len(c) for c in chunks)
print(f"{time.perf_counter() - started:.2f} {size}")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    options = parser.parse_args()
    print("==> fresh database", DB, flush=True)
    fresh_database()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-leads-") as tmp:
        for n in options.sizes:
            for fmt, writer in (("csv", write_csv), ("xlsx", write_xlsx)):
                first, second = Path(tmp, f"leads-{n}.{fmt}"), Path(tmp, f"leads-{n}-b.{fmt}")
                writer(first, n, 0)
                writer(second, n, 1000)
                empty_leads()
                for label, path in (("new leads", first), ("updates", second)):
                    seconds, peak, out = run(["import_leads", str(path), "--no-progress"])
                    summary = next(line for line in out.splitlines() if "rows read" in line)
                    results.append((fmt, n, label, seconds, n / seconds, peak, summary))
                    print(f"    {fmt} {n:>6} {label:<9} {seconds:6.1f} s  {summary}", flush=True)
    print()
    print("| file | rows | run | seconds | rows/s | peak RSS (MB) |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for fmt, n, label, seconds, rate, peak, _ in results:
        print(f"| {fmt} | {n:,} | {label} | {seconds:.1f} | {rate:,.0f} | {peak:.0f} |")
    print()
    leads = query_seconds("SELECT count(*) FROM leads")[1]
    print(f"Filters over {leads:,} leads (PostgreSQL, mean of 5):")
    today = dt.date.today()
    week = today + dt.timedelta(days=7)
    for label, sql in (
        ("outstanding >= 10,000,000 (a column)", "outstanding >= 10000000"),
        ("attr dpd >= 30 (jsonb)", "(attributes -> 'dpd') >= '30'::jsonb"),
        (
            "attr due_date within 7 days (jsonb)",
            f"(attributes -> 'due_date') >= '\"{today}\"'::jsonb "
            f"AND (attributes -> 'due_date') <= '\"{week}\"'::jsonb",
        ),
    ):
        seconds, count = query_seconds(f"SELECT count(*) FROM leads WHERE {sql}")
        print(f"    {label:<40} {seconds * 1000:6.1f} ms  ({count:,} leads)")
    print()
    print(f"Streamed exports of {leads:,} leads (with room facts):")
    for fmt in ("csv", "xlsx"):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", EXPORT_SCRIPT, fmt],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        out = proc.stdout.read()
        _, _, usage = os.wait4(proc.pid, 0)
        seconds, size = out.split()
        wall = time.perf_counter() - started
        print(
            f"    {fmt:<5} {float(seconds):5.1f} s  {int(size) / 1e6:5.1f} MB  "
            f"peak RSS {usage.ru_maxrss / 1024:.0f} MB  (wall {wall:.1f} s)"
        )


if __name__ == "__main__":
    main()
