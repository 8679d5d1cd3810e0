#!/usr/bin/env python
"""Throughput of the agent Collector pipeline on ONE core, PHI processors on vs off, side by side.

    collector/build.sh && TELEMETRYGEN=1 collector/build.sh     # binary + telemetrygen (cached)
    .venv/bin/python benchmarks/collector.py [--seconds 10]

The agent (GOMAXPROCS=1, pinned to CPU 0) receives OTLP/gRPC from telemetrygen (pinned to the other
core, unthrottled) and runs memory_limiter -> PHI transform/redaction -> exporter. Variants:
  baseline  memory_limiter only, exporter `debug` (basic) - the cost of receiving + exporting
  transform / redaction   one of the two PHI processors alone (where the time goes)
  phi       + transform/phi, transform/phi-lift, redaction/phi (the rendered policy), `debug` exporter
  phi+queue the real agent config: + persistent file_storage queue and load_balancing to a null gateway
  phiproc   memory_limiter -> our Go `phi` processor (collector/processor/phiprocessor, the policy document
            collector/phi-policy.json) -> `debug`: the one-pass replacement for the four contrib processors
  phiproc+queue  the real agent exporters (persistent queue, load_balancing) with `phi` instead of the contrib chain
Prints items/s accepted, items per CPU-second of the agent, CPU seconds per 1,000 items, and ratios to the
baseline (throughput and per-CPU-second).
Numbers are for this machine only; compare the ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.collector import COLLECTOR_DIR, collector  # noqa: E402

TELEMETRYGEN = COLLECTOR_DIR / "_build" / "telemetrygen"
# Span/log attributes shaped like the app's (route, method, a free-text note the detectors must scan).
ATTRIBUTES = [
    'http.route="/api/patients/<int:pk>/"',
    'http.request.method="GET"',
    'url.full="http://clinic.local/api/patients/7/?q=follow-up"',
    'db.query.text="SELECT id, mrn FROM clinic_patient WHERE id = 7 LIMIT 21"',
    'clinic.note="appointment moved to next week, call back after 3pm"',
    'clinic.severity="normal"',
]


PHI_PROCESSOR = {"phi": {"policy_file": str(COLLECTOR_DIR / "phi-policy.json")}}


def variant_overlay(name: str, tmp: Path) -> list[Path]:
    """Extra --config files turning the agent into the variant."""
    if name == "phi+queue":
        return []
    if name == "phiproc+queue":
        overlay = {"processors": PHI_PROCESSOR, "service": {"pipelines": {
            signal: {"receivers": ["otlp"], "processors": ["memory_limiter", "phi"], "exporters": ["load_balancing"]}
            for signal in ("traces", "logs")}}}
        path = tmp / "bench-phiproc-queue.yaml"
        path.write_text(yaml.safe_dump(overlay))
        return [path]
    processors = {
        "baseline": ["memory_limiter"],
        "transform": ["memory_limiter", "transform/phi"],
        "redaction": ["memory_limiter", "transform/phi-lift", "redaction/phi", "transform/phi-lower"],
        "phiproc": ["memory_limiter", "phi"],
    }.get(name, ["memory_limiter", "transform/phi", "transform/phi-lift", "redaction/phi", "transform/phi-lower"])
    overlay = {
        "processors": PHI_PROCESSOR,
        "exporters": {"debug/bench": {"verbosity": "basic"}},
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["debug/bench"]},
            "logs": {"receivers": ["otlp"], "processors": [p for p in processors if p != "transform/phi-lower"],
                     "exporters": ["debug/bench"]},
        }},
    }
    path = tmp / f"bench-{name.replace('+', '-')}.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return [path]


def run_load(signal: str, endpoint: str, seconds: float) -> None:
    argv = [str(TELEMETRYGEN), signal, "--otlp-insecure", "--otlp-endpoint", endpoint, "--workers", "2",
            "--rate", "0", "--duration", f"{seconds}s", "--batch-size", "200"]
    for attr in ATTRIBUTES:
        argv += ["--telemetry-attributes", attr]
    if signal == "traces":
        argv += ["--child-spans", "3"]
    else:
        argv += ["--body", "patient lookup finished for record 7 in 12 ms"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with_affinity(proc.pid, [1])
    proc.wait(timeout=seconds + 60)


def with_affinity(pid: int, cpus: list[int]) -> None:
    try:
        psutil.Process(pid).cpu_affinity([c for c in cpus if c < (os.cpu_count() or 1)] or None)
    except (psutil.Error, ValueError):
        pass


def measure(name: str, signal: str, seconds: float, tmp: Path, gateway_grpc: str) -> dict[str, float]:
    metric = "otelcol_receiver_accepted_spans_total" if signal == "traces" else "otelcol_receiver_accepted_log_records_total"
    env = {"GOMAXPROCS": "1", "OTELCOL_GATEWAYS": f"[{gateway_grpc}]", "OTELCOL_LOG_LEVEL": "warn",
           "OTELCOL_MEMORY_LIMIT_MIB": "1024", "OTELCOL_MEMORY_SPIKE_MIB": "256"}
    with collector("agent", env, extra_configs=variant_overlay(name, tmp)) as agent:
        assert agent.proc is not None
        with_affinity(agent.proc.pid, [0])
        proc = psutil.Process(agent.proc.pid)
        before_cpu = sum(proc.cpu_times()[:2])
        before = agent.self_metrics().get(metric, 0.0)
        started = time.perf_counter()
        run_load(signal, agent.otlp_grpc, seconds)
        elapsed = time.perf_counter() - started
        after = agent.self_metrics().get(metric, 0.0)
        cpu = sum(proc.cpu_times()[:2]) - before_cpu
    items = after - before
    return {"items_per_s": items / elapsed, "cpu_s_per_1000": 1000 * cpu / items if items else float("nan"),
            "items_per_cpu_s": items / cpu if cpu else float("nan"), "items": items}


def per_pattern(seconds: float, tmp: Path) -> None:
    """Cost of each redaction/phi blocked_values regex alone (log records/s, CPU per 1k), to find the slow ones.
    Temporarily rewrites collector/otelcol-agent-phi.yaml and always restores it."""
    phi_path = COLLECTOR_DIR / "otelcol-agent-phi.yaml"
    original = phi_path.read_text()
    doc = yaml.safe_load(original)
    red = doc["processors"]["redaction/phi"]
    cases = [("no blocked_values, key patterns only", {**red, "blocked_values": []})]
    cases += [(f"#{i} {v[:60]}", {**red, "blocked_values": [v], "blocked_key_patterns": []})
              for i, v in enumerate(red["blocked_values"])]
    print(f"{'redaction/phi with only':<70} {'logs/s':>8} {'CPU s/1k':>9}")
    try:
        for label, cfg in cases:
            phi_path.write_text(yaml.safe_dump({"processors": {**doc["processors"], "redaction/phi": cfg}}))
            r = measure("redaction", "logs", seconds, tmp, "127.0.0.1:9")
            print(f"{label:<70} {r['items_per_s']:>8.0f} {r['cpu_s_per_1000']:>9.4f}", flush=True)
    finally:
        phi_path.write_text(original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--variants", default="baseline,transform,redaction,phi,phi+queue,phiproc,phiproc+queue")
    parser.add_argument("--per-pattern", action="store_true", help="time each redaction regex alone (logs)")
    args = parser.parse_args()
    if not TELEMETRYGEN.exists():
        sys.exit("telemetrygen missing: run `TELEMETRYGEN=1 collector/build.sh`")
    if args.per_pattern:
        per_pattern(args.seconds, Path(tempfile.mkdtemp(prefix="otel-clinic-bench-")))
        return
    variants = args.variants.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="otel-clinic-bench-"))
    # The null gateway for phi+queue: receives and drops (debug exporter), on the other core.
    null_gw = tmp / "null-gateway.yaml"
    null_gw.write_text(yaml.safe_dump({
        "exporters": {"debug/null": {"verbosity": "basic"}},
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "processors": [], "exporters": ["debug/null"]},
            "metrics": {"receivers": ["otlp"], "processors": [], "exporters": ["debug/null"]},
            "logs": {"receivers": ["otlp"], "processors": [], "exporters": ["debug/null"]},
        }},
    }))
    gw_env = {"SENTRY_OTLP_ENDPOINT": "http://127.0.0.1:9", "SENTRY_PUBLIC_KEY": "x", "OTELCOL_LOG_LEVEL": "warn"}
    results: dict[tuple[str, str], dict[str, float]] = {}
    with collector("gateway", gw_env, extra_configs=[null_gw]) as gateway:
        assert gateway.proc is not None
        with_affinity(gateway.proc.pid, [1])
        for signal in ("traces", "logs"):
            for name in variants:
                results[(signal, name)] = measure(name, signal, args.seconds, tmp, gateway.otlp_grpc)
    unit = {"traces": "spans", "logs": "log records"}
    print(f"agent pipeline on 1 core (GOMAXPROCS=1), telemetrygen 2 workers unthrottled, {args.seconds:.0f}s per run")
    print(f"{'signal':<8} {'variant':<14} {'items/s':>10} {'items/CPU-s':>12} {'CPU s/1k':>9} {'vs baseline':>12} {'per CPU-s':>10}")
    for signal in ("traces", "logs"):
        base = results.get((signal, "baseline"), {})
        for name in variants:
            r = results[(signal, name)]
            ratio = f"{r['items_per_s'] / base['items_per_s']:.2f}x" if base.get("items_per_s") else "-"
            cpu_ratio = f"{r['items_per_cpu_s'] / base['items_per_cpu_s']:.2f}x" if base.get("items_per_cpu_s") else "-"
            print(f"{unit[signal][:8]:<8} {name:<14} {r['items_per_s']:>10.0f} {r['items_per_cpu_s']:>12.0f} "
                  f"{r['cpu_s_per_1000']:>9.4f} {ratio:>12} {cpu_ratio:>10}")


if __name__ == "__main__":
    main()
