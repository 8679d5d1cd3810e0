"""Name finder benchmark (prints tables; not a pass/fail test).

    .venv/bin/python benchmarks/names.py [--repeat 31] [--number 2000]

1. µs per call of ``NameFinder.spans`` / ``is_name`` on short values and ~120-character log messages
   (median of ``--repeat`` timing runs of ``--number`` calls each; this is a noisy 2-core machine).
2. Lexicon memory and load time, each measured in a fresh subprocess: RSS delta (VmRSS from /proc) and
   ``tracemalloc`` (current and peak) of loading the shipped lexicon; next to it the same keys held as a plain
   ``frozenset[str]`` (the structure we did not ship) for the trade-off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from otel_clinic.scrubbing.names import default_name_finder  # noqa: E402

SHORT = [
    "200",
    "GET",
    "pending",
    "connection refused",
    "Patient record updated",
    "/api/v1/appointments/42/",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "db-1.internal.clinic.local",
]
LONG_NO_NAME = [
    "Task clinic.tasks.send_reminders[7e1c0d5a-35b4-4f0e-9d41-7a6b1c2e3f40] succeeded in 0.412s: {'sent': 14, 'skipped': 2}",
    "psycopg.errors.ForeignKeyViolation: insert or update on table \"clinic_appointment\" violates foreign key constraint",
    "reminder batch finished: 14 sent, 2 skipped, 0 failed in 412 ms; retry scheduled for page view at 09:30 tomorrow",
    "10.0.3.7 - - [02/Dec/2026:07:00:12 +0000] \"GET /api/v1/slots/?week=49 HTTP/1.1\" 200 5321 \"-\" \"python-requests/2.32\"",
    "Will retry in 10 seconds: Page 3 of 12 failed to render because the template fragment cache was cold again",
]
LONG_NAME = [
    "created patient amara okafor (appointment 1234) at clinic north; reminder queued for tomorrow morning by system",
    "Prescription for Hollis Brandvold renewed by Dr Page; pharmacy notified, pickup window 09:00-17:00 tomorrow",
    "ValueError: time data 'OKAFOR, AMARA' does not match format '%Y-%m-%d' while importing row 17 of batch 2026-49",
]
IS_NAME = ["Grace Baker", "amara okafor", "OKAFOR, AMARA", "record", "200", "Patient record updated"]

MEMORY_PROBE = r"""
import gc, json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
import otel_clinic.scrubbing.names as names  # import cost is not the lexicon's
import gzip
from importlib import resources
gc.collect()
mode = sys.argv[2]
if mode == "tracemalloc":
    tracemalloc.start()
before = rss()
t0 = time.perf_counter()
if mode in ("rss", "tracemalloc"):
    obj = names.NameFinder()
else:  # the alternative: every key as a str in a frozenset
    raw = resources.files("otel_clinic.scrubbing").joinpath("data", "names.txt.gz").read_bytes()
    obj = frozenset(l for l in gzip.decompress(raw).decode().splitlines()[1:] if not l.startswith("@"))
elapsed = time.perf_counter() - t0
gc.collect()
after = rss()
out = {"rss_delta": after - before, "load_s": elapsed}
if mode == "tracemalloc":
    cur, peak = tracemalloc.get_traced_memory()
    out.update(current=cur, peak=peak)
print(json.dumps(out))
"""


def per_call_us(fn, value: str, repeat: int, number: int) -> float:
    runs = timeit.repeat(lambda: fn(value), number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e6


def probe(mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(ROOT), mode],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=31)
    ap.add_argument("--number", type=int, default=2000)
    args = ap.parse_args()
    finder = default_name_finder()

    print("NameFinder.spans / is_name, µs per call (median of %d runs x %d calls)" % (args.repeat, args.number))
    print(f"{'group':<14} {'chars':>5} {'µs':>7}  {'spans':<24} value")
    groups = [("short", SHORT, finder.spans), ("log, no name", LONG_NO_NAME, finder.spans),
              ("log, name", LONG_NAME, finder.spans), ("is_name", IS_NAME, finder.is_name)]
    summary = {}
    for label, values, fn in groups:
        times = []
        for v in values:
            us = per_call_us(fn, v, args.repeat, args.number)
            times.append(us)
            found = fn(v)
            shown = [v[a:b] for a, b in found] if isinstance(found, list) else found
            print(f"{label:<14} {len(v):>5} {us:>7.2f}  {str(shown)[:24]:<24} {v[:60]}")
        summary[label] = statistics.median(times)
    print()
    print("median per group: " + ", ".join(f"{k} {v:.2f} µs" for k, v in summary.items()))
    print()

    rss = [probe("rss") for _ in range(3)]
    tm = probe("tracemalloc")
    fs = [probe("frozenset") for _ in range(3)]
    mib = 1024 * 1024
    print(f"lexicon: {finder.count:,} keys; {finder.header.split(' sha256=')[0]}")
    data = ROOT / "otel_clinic" / "scrubbing" / "data" / "names.txt.gz"
    print(f"data file: {data.stat().st_size:,} bytes")
    print(f"{'structure':<34} {'RSS delta MiB':>14} {'tracemalloc cur/peak MiB':>26} {'load s':>7}")
    print(f"{'fingerprint table (shipped)':<34} {statistics.median(r['rss_delta'] for r in rss) / mib:>14.2f} "
          f"{tm['current'] / mib:>12.2f} / {tm['peak'] / mib:<11.2f} {statistics.median(r['load_s'] for r in rss):>7.2f}")
    print(f"{'frozenset[str] of the same keys':<34} {statistics.median(r['rss_delta'] for r in fs) / mib:>14.2f} "
          f"{'-':>26} {statistics.median(r['load_s'] for r in fs):>7.2f}")


if __name__ == "__main__":
    main()
