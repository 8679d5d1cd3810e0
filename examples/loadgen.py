#!/usr/bin/env python
"""Drive the example clinic with a realistic mix: reads, writes, every error category, slow and N+1 requests.

    python examples/loadgen.py --base-url http://127.0.0.1:8000 --requests 500 --concurrency 4 [--phi-canaries]

With --phi-canaries the traffic carries fake patient identifiers (CANARY values) in paths, query strings,
headers, bodies and exception messages, so a leak audit can look for them downstream.
Only loopback/base-url targets are contacted. Prints a JSON summary (status counts, latency percentiles).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

# Fake PHI canaries: shaped like real identifiers so detectors must catch them by shape/context.
CANARIES = {
    "ssn": "078-05-1120",
    "mrn": "MRN-48213377",
    "email": "jane.canary@example.org",
    "phone": "(555) 867-5309",
    "name": "Janet Canaryfield",
    "dob": "1961-04-13",
}


def _mix(phi: bool) -> list[tuple[str, str, dict | None, dict]]:
    c = CANARIES
    mix: list[tuple[str, str, dict | None, dict]] = [
        ("GET", "/api/patients/", None, {}),
        ("GET", "/api/patients/1/", None, {}),
        ("GET", "/api/patients/999999/", None, {}),                     # not_found
        ("GET", "/api/appointments/report/", None, {}),                 # N+1
        ("GET", "/api/cache/common/", None, {}),
        ("GET", "/api/slow/?ms=150", None, {}),                         # slow
        ("GET", "/api/slow/?ms=700", None, {}),                         # warning
        ("GET", "/api/rate-limited/", None, {}),                        # rate_limit
        ("GET", "/api/timeout/", None, {}),                             # timeout
        ("GET", "/api/lab-results/7/", None, {}),                       # external_service
        ("GET", "/api/boom/", None, {}),                                # server_error
        ("GET", "/api/records/3/", None, {}),                           # authentication (401)
        ("GET", "/api/records/3/", None, {"Authorization": "Bearer wrong"}),  # authentication (403)
        ("POST", "/api/patients/", {"first_name": "x"}, {}),          # validation
        ("POST", "/api/prescriptions/", {"patient_id": 1}, {}),       # validation (exception)
    ]
    if phi:
        mix += [
            ("GET", f"/api/patients/search/?name={c['name'].replace(' ', '+')}&ssn={c['ssn']}", None, {}),
            ("GET", f"/api/patients/by-mrn/{c['mrn']}/", None, {"X-Patient-Email": c["email"]}),
            ("GET", f"/api/boom/?patient={c['name'].replace(' ', '+')}+SSN+{c['ssn']}", None, {"Cookie": f"patient={c['mrn']}"}),
            ("POST", "/api/patients/", {"mrn": c["mrn"], "first_name": "Janet", "last_name": "Canaryfield", "ssn": c["ssn"],
                                         "email": c["email"], "phone": c["phone"], "dob": c["dob"]}, {}),
            ("POST", "/api/prescriptions/", {"patient_name": c["name"], "patient_id": 1}, {}),
        ]
    return mix


def _request(base: str, method: str, path: str, body: dict | None, headers: dict, timeout: float) -> tuple[int, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **headers})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    except (OSError, urllib.error.URLError):
        status = 0
    return status, (time.perf_counter() - started) * 1000


def seed(base: str, timeout: float = 5.0) -> None:
    """Create a couple of patients and appointments so reads and the N+1 report have data."""
    for i in range(1, 4):
        _request(base, "POST", "/api/patients/", {"mrn": f"SEED-{i}", "first_name": "Seed", "last_name": f"Patient{i}"}, {}, timeout)
        _request(base, "POST", "/api/appointments/", {"patient_id": i, "starts_at": f"2030-01-0{i}T09:00:00+00:00"}, {}, timeout)


def run(base: str, requests: int, concurrency: int, phi: bool, timeout: float = 10.0, seed_data: bool = True) -> dict:
    if seed_data:
        seed(base)
    mix = _mix(phi)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    rng = random.Random(42)

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            method, path, body, headers = mix[i % len(mix)] if i < len(mix) else rng.choice(mix)
            status, ms = _request(base, method, path, body, headers, timeout)
            with lock:
                statuses[status] += 1
                latencies.append(ms)

    threads = [threading.Thread(target=worker) for _ in range(max(1, concurrency))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return {"requests": len(latencies), "seconds": round(elapsed, 3), "statuses": dict(sorted(statuses.items())),
            "p50_ms": round(q[49], 2), "p99_ms": round(q[98], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--phi-canaries", action="store_true")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.base_url, args.requests, args.concurrency, args.phi_canaries, args.timeout, not args.no_seed)))


if __name__ == "__main__":
    main()
