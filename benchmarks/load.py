#!/usr/bin/env python
"""Load test of the example clinic at saturation: telemetry off vs on, side by side (issue 16).

    collector/build.sh && apt-get install wrk
    .venv/bin/python benchmarks/load.py [--seconds 15] [--rounds 2] [--connections 16] [--paths /api/patients/,...]

Everything runs on loopback ports the OS picked free: our gateway and agent Collectors (tests/support/collector),
then, per round and mode, the example app under gunicorn (2 sync workers, tests/collector/app_runner) exporting
OTLP/gRPC to the agent, driven by `wrk` for a fixed time. Modes:
  off  OTEL_SDK_DISABLED=true: setup() installs nothing (the bare app)
  on   the full otel_clinic pipeline (scrubbing, OTLP to the agent -> gateway)
Rounds alternate off/on. Per run it prints req/s, latency p50/p95/p99 (wrk), CPU per request of the app
(gunicorn master + workers, /proc utime+stime) and of the agent and gateway (run + a settle period so their
asynchronous work is counted), and spans the agent accepted per request. Default paths are CPU-bound (no slow
endpoints). Numbers are for this machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.collector.app_runner import app_env, gunicorn_app  # noqa: E402
from tests.support.collector import OtlpSink, agent_env, collector, gateway_env  # noqa: E402

DEFAULT_PATHS = "/api/patients/,/api/patients/1/,/api/cache/common/"
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "non2xx": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def app_pids(master_pid: int) -> list[int]:
    return [master_pid] + [c.pid for c in psutil.Process(master_pid).children(recursive=True)]


def accepted_spans(agent) -> float:
    try:
        return agent.self_metrics().get("otelcol_receiver_accepted_spans_total", 0.0)
    except requests.RequestException:
        return float("nan")


def run_once(mode: str, args, agent, gateway, workdir: Path, script: Path) -> dict:
    tmp = workdir / f"app-{mode}"
    env = app_env(tmp, otlp_grpc=agent.otlp_grpc, release=f"load-{mode}", environment="load", scrub=True,
                  sentry_dsn=None)
    # Production-like export settings (app_env's are tuned for fast tests).
    env.pop("OTEL_BSP_SCHEDULE_DELAY", None)
    env["OTEL_METRIC_EXPORT_INTERVAL"] = "5000"
    env["OTEL_CLINIC_LOG_FORMAT"] = args.log_format
    if mode == "off":
        env["OTEL_SDK_DISABLED"] = "true"
    with gunicorn_app(tmp, env, workers=args.workers) as app:
        requests.post(f"{app.base_url}/api/patients/", json={"mrn": "LOAD-1", "first_name": "Load", "last_name": "Test"},
                      timeout=10)
        wrk = ["wrk", "-t", "2", "-c", str(args.connections), "--timeout", "5s", "-s", str(script), app.base_url]
        subprocess.run(wrk[:1] + ["-d", f"{args.warmup}s"] + wrk[1:], check=True, capture_output=True, timeout=120)
        time.sleep(1)
        pids = app_pids(app.proc.pid)
        collectors = {"agent": agent.proc.pid, "gateway": gateway.proc.pid}
        spans0 = accepted_spans(agent)
        app0 = cpu_seconds(pids)
        col0 = {k: cpu_seconds([pid]) for k, pid in collectors.items()}
        out = subprocess.run(wrk[:1] + ["-d", f"{args.seconds}s"] + wrk[1:], check=True, capture_output=True,
                             text=True, timeout=args.seconds + 60).stdout
        time.sleep(args.settle)  # export threads and the collectors finish the run's telemetry
        app_cpu = cpu_seconds(pids) - app0
        col_cpu = {k: cpu_seconds([pid]) - col0[k] for k, pid in collectors.items()}
        spans = accepted_spans(agent) - spans0
    stats = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    n = stats["requests"]
    return {
        "mode": mode,
        "requests": n,
        "rps": n / (stats["duration_us"] / 1e6),
        "p50": stats["p50_us"] / 1000,
        "p95": stats["p95_us"] / 1000,
        "p99": stats["p99_us"] / 1000,
        "errors": stats["errors"],
        "non2xx": stats["non2xx"],
        "app_ms": app_cpu * 1000 / n,
        "agent_ms": col_cpu["agent"] * 1000 / n,
        "gateway_ms": col_cpu["gateway"] * 1000 / n,
        "spans_per_req": spans / n,
    }


def print_table(rows: list[dict]) -> None:
    head = ("mode", "req/s", "p50 ms", "p95 ms", "p99 ms", "app CPU ms/req", "agent CPU ms/req", "gateway CPU ms/req",
            "agent spans/req", "errors")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(f"{r['mode']} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['app_ms']:.2f} | "
              f"{r['agent_ms']:.2f} | {r['gateway_ms']:.2f} | {r['spans_per_req']:.2f} | {r['errors']}+{r['non2xx']} non-2xx")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="measured seconds per run (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per run, not measured (default 3)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after a run still counted for CPU (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs, alternating (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--paths", default=DEFAULT_PATHS, help=f"comma list of GET paths, round robin ({DEFAULT_PATHS})")
    parser.add_argument("--log-format", default="json", choices=("json", "text", "none"),
                        help="OTEL_CLINIC_LOG_FORMAT of the app (default json)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.rounds <= 10:
        parser.error("--seconds must be 1..600 and --rounds 1..10")
    if shutil.which("wrk") is None:
        print("benchmarks/load.py needs wrk (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    for var in [v for v in os.environ if v.startswith(("OTEL_", "SENTRY_"))]:
        del os.environ[var]

    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-load-"))
    script = workdir / "mix.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p.strip()) for p in args.paths.split(",") if p.strip()))
    rows: list[dict] = []
    try:
        with OtlpSink(path_prefix="/api/1/integration/otlp") as sink, collector(
            "gateway", gateway_env(sentry_endpoint=sink.base_url, sentry_key="load",
                                   remote_write_url="http://127.0.0.1:9/api/v1/write"),
        ) as gateway, collector("agent", agent_env([gateway])) as agent:
            for round_ in range(args.rounds):
                for mode in ("off", "on"):
                    row = run_once(mode, args, agent, gateway, workdir, script)
                    rows.append(row)
                    print(f"round {round_ + 1} {mode}: {row['rps']:,.0f} req/s, app {row['app_ms']:.2f} ms/req, "
                          f"agent {row['agent_ms']:.2f} ms/req", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.workers} gunicorn sync workers, wrk {args.connections} connections, {args.seconds} s per run, "
          f"{args.rounds} round(s), paths {args.paths}, {os.cpu_count()} CPUs\n")
    print_table(rows)
    med = {m: {k: statistics.median(r[k] for r in rows if r["mode"] == m) for k in ("rps", "app_ms", "agent_ms", "p50")}
           for m in ("off", "on")}
    print(f"\nmedian: throughput on/off {med['on']['rps'] / med['off']['rps']:.2f}x "
          f"({(med['on']['rps'] / med['off']['rps'] - 1) * 100:+.0f} %), p50 {med['off']['p50']:.1f} -> {med['on']['p50']:.1f} ms")
    print(f"median: app CPU per request on/off {med['on']['app_ms'] / med['off']['app_ms']:.2f}x "
          f"({med['off']['app_ms']:.2f} -> {med['on']['app_ms']:.2f} ms; target <= 2x)")
    print(f"median: agent CPU per request with telemetry on {med['on']['agent_ms']:.2f} ms (target <= 0.2 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
