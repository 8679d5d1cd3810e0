"""`otel-clinic status`: is the clinic healthy right now? Exit 0 healthy, 1 degraded, 2 a backend is unreachable.

Four parts, each with its own verdict:
- local health: our health checks run once in this process (as `otel-clinic health`; Django checks when
  DJANGO_SETTINGS_MODULE is set); degraded unless every check is ok. `--no-local` skips it (ops hosts).
- alerts: active, unsilenced, uninhibited alerts in Alertmanager; degraded if one is critical or high.
- last deployment: the newest `clinic_deployment_timestamp_seconds` in Prometheus (information only).
- telemetry pipeline: SDK drops (`clinic_telemetry_dropped_total`), Collectors' `up` (jobs as in the
  OtelCollectorDown rule) and exporter send failures over the last 15 minutes; degraded on any of them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from typing import Any, TextIO

from otel_clinic.ops import common
from otel_clinic.ops.backends import Alertmanager, Prometheus
from otel_clinic.ops.table import as_float

DEGRADING_SEVERITIES = ("critical", "high")
COLLECTOR_JOBS = 'job=~"otel-collector.*|otelcol.*"'  # the OtelCollectorDown rule's matcher
PIPELINE_WINDOW = "15m"
DEPLOYMENT_LOOKBACK = "30d"


def local_health() -> dict[str, Any]:
    from otel_clinic.errors import ConfigError

    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    from otel_clinic.health.result import worst
    from otel_clinic.health.state import get_runner

    try:
        runner = get_runner()
    except ConfigError as exc:
        return {"status": "error", "healthy": False, "message": str(exc), "checks": {}}
    results = runner.run(runner.names())
    overall = worst(r.status for r in results.values())
    return {"status": overall.value, "healthy": overall.value == "ok",
            "checks": {name: {"status": r.status.value, "message": r.message} for name, r in results.items()}}


def firing_alerts(am: Alertmanager) -> dict[str, Any]:
    alerts = am.alerts(active=True, silenced=False, inhibited=False)
    rows = sorted(({"alertname": a["labels"].get("alertname", ""), "severity": a["labels"].get("severity", ""),
                    "since": a.get("startsAt", ""), "summary": a.get("annotations", {}).get("summary", "")}
                   for a in alerts), key=lambda a: (a["severity"] not in DEGRADING_SEVERITIES, a["alertname"]))
    serious = [a for a in rows if a["severity"] in DEGRADING_SEVERITIES]
    return {"healthy": not serious, "firing": rows, "degrading": len(serious)}


def last_deployment(prom: Prometheus) -> dict[str, Any] | None:
    expr = (f"topk(1, max by (job, deployment_environment_name, service_version) "
            f"(max_over_time(clinic_deployment_timestamp_seconds[{DEPLOYMENT_LOOKBACK}])))")
    result = prom.query(expr)
    if not result:
        return None
    labels, value = result[0]["metric"], as_float(result[0]["value"][1])
    if value is None:
        return None
    return {"version": labels.get("service_version"), "environment": labels.get("deployment_environment_name"),
            "job": labels.get("job"), "at": datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds"),
            "age_hours": round((time.time() - value) / 3600, 2)}


def pipeline(prom: Prometheus) -> dict[str, Any]:
    drops = [{"labels": r["metric"], "dropped": as_float(r["value"][1])} for r in prom.query(
        f"sum by (job, signal, reason) (increase(clinic_telemetry_dropped_total[{PIPELINE_WINDOW}])) > 0")]
    collectors = [{"job": r["metric"].get("job"), "instance": r["metric"].get("instance"),
                   "up": as_float(r["value"][1]) == 1.0} for r in prom.query(f"up{{{COLLECTOR_JOBS}}}")]
    failing = [{"labels": r["metric"], "items_per_s": as_float(r["value"][1])} for r in prom.query(
        " or ".join(f"sum by (job, instance, exporter) (rate(otelcol_exporter_send_failed_{s}_total[{PIPELINE_WINDOW}])) > 0"
                    for s in ("spans", "metric_points", "log_records")))]
    healthy = not drops and all(c["up"] for c in collectors) and not failing
    return {"healthy": healthy, "drops": drops, "collectors": collectors, "export_failures": failing,
            "window": PIPELINE_WINDOW}


def collect(prom: Prometheus, am: Alertmanager, *, local: bool = True) -> dict[str, Any]:
    # Backends first: an unreachable one fails the command before the (slower) local checks run.
    alerts, deployment, pipe = firing_alerts(am), last_deployment(prom), pipeline(prom)
    report: dict[str, Any] = {"local_health": local_health() if local else None,
                              "alerts": alerts, "last_deployment": deployment, "pipeline": pipe}
    parts = [report["alerts"], report["pipeline"]] + ([report["local_health"]] if local else [])
    report["healthy"] = all(p["healthy"] for p in parts)
    return report


def render_text(r: dict[str, Any]) -> str:
    def mark(ok: bool) -> str:
        return "ok      " if ok else "DEGRADED"

    out = [f"overall: {'healthy' if r['healthy'] else 'degraded'}"]
    lh = r["local_health"]
    if lh is None:
        out.append("skipped   local health (--no-local)")
    else:
        checks = ", ".join(f"{n}={c['status']}" for n, c in sorted(lh["checks"].items())) or lh.get("message", "")
        out.append(f"{mark(lh['healthy'])}  local health: {lh['status']} ({checks or 'no checks configured'})")
    al = r["alerts"]
    out.append(f"{mark(al['healthy'])}  alerts: {len(al['firing'])} firing, {al['degrading']} critical/high")
    out += [f"            {a['severity'] or '-':8} {a['alertname']}: {a['summary']}" for a in al["firing"][:20]]
    dep = r["last_deployment"]
    out.append("info      last deployment: " + (
        f"{dep['version']} to {dep['environment']} ({dep['job']}) at {dep['at']}, {dep['age_hours']} h ago"
        if dep else "none recorded (clinic_deployment_timestamp_seconds)"))
    pl = r["pipeline"]
    up = sum(1 for c in pl["collectors"] if c["up"])
    out.append(f"{mark(pl['healthy'])}  telemetry pipeline: Collectors up {up}/{len(pl['collectors'])}, "
               f"{len(pl['drops'])} dropping series, {len(pl['export_failures'])} failing exporters "
               f"(last {pl['window']})")
    out += [f"            down: {c['job']} {c['instance']}" for c in pl["collectors"] if not c["up"]]
    out += [f"            dropped {d['dropped']:.0f} {d['labels'].get('signal', '?')} "
            f"({d['labels'].get('reason', '?')}) in {d['labels'].get('job', '?')}" for d in pl["drops"]]
    out += [f"            export failing: {f['labels'].get('exporter')} on {f['labels'].get('instance')}"
            for f in pl["export_failures"]]
    return "\n".join(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-local", action="store_true", help="skip the local health checks (not on an app host)")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    common.add_backend_arguments(parser)


def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    prom, am = common.prometheus(args), common.alertmanager(args)
    report = collect(prom, am, local=not args.no_local)
    out.write((json.dumps(report, indent=2) if args.output_format == "json" else render_text(report)) + "\n")
    return common.EXIT_OK if report["healthy"] else common.EXIT_DEGRADED
