"""`otel-clinic alerts --hours N [--severity S]`: alerts now (Alertmanager) and in the window (Prometheus `ALERTS`).

History comes from the `ALERTS{alertstate="firing"}` series Prometheus writes while a rule fires; consecutive
samples form one episode, so an alert that fired twice in the window shows two episodes.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any, TextIO

from otel_clinic.ops import common
from otel_clinic.ops.backends import Alertmanager, Prometheus
from otel_clinic.ops.table import table

# Labels Prometheus adds to ALERTS that say nothing about which alert it was.
_HISTORY_NOISE = {"__name__", "alertstate"}
MAX_POINTS = 10_000  # stay under Prometheus' 11,000 points per series limit


def _ts(value: float) -> str:
    return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds")


def current(am: Alertmanager, severity: str | None) -> list[dict[str, Any]]:
    filters = [f'severity="{severity}"'] if severity else []
    alerts = am.alerts(filters)
    rows = [{
        "alertname": a["labels"].get("alertname", ""), "severity": a["labels"].get("severity", ""),
        "state": a.get("status", {}).get("state", ""),
        "silenced_by": a.get("status", {}).get("silencedBy") or [],
        "inhibited_by": a.get("status", {}).get("inhibitedBy") or [],
        "starts_at": a.get("startsAt", ""), "labels": a["labels"],
        "summary": a.get("annotations", {}).get("summary", ""),
        "receivers": [r["name"] for r in a.get("receivers") or []],
    } for a in alerts]
    return sorted(rows, key=lambda r: (r["alertname"], r["starts_at"]))


def history(prom: Prometheus, hours: float, severity: str | None, end: float | None = None) -> list[dict[str, Any]]:
    end = time.time() if end is None else end
    start = end - hours * 3600
    step = max(15.0, hours * 3600 / MAX_POINTS)
    matchers = ['alertstate="firing"'] + ([f'severity="{severity}"'] if severity else [])
    episodes: list[dict[str, Any]] = []
    for series in prom.query_range("ALERTS{" + ", ".join(matchers) + "}", start, end, step):
        labels = {k: v for k, v in series["metric"].items() if k not in _HISTORY_NOISE}
        times = [float(t) for t, _ in series["values"]]
        first = prev = times[0]
        for t in times[1:] + [None]:  # type: ignore[list-item]
            if t is None or t - prev > step * 1.5:
                episodes.append({"alertname": labels.get("alertname", ""), "severity": labels.get("severity", ""),
                                 "from": _ts(first), "to": _ts(prev), "labels": labels})
                if t is not None:
                    first = t
            if t is not None:
                prev = t
    return sorted(episodes, key=lambda e: (e["from"], e["alertname"]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=common.hours_type, default=24.0, help="history window (default 24)")
    parser.add_argument("--severity", help="only alerts with this severity label (critical, high, warning, info)")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    common.add_backend_arguments(parser)


def _detail(labels: dict[str, str]) -> str:
    skip = {"alertname", "severity"}
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in skip)


def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    now = current(common.alertmanager(args), args.severity)
    past = history(common.prometheus(args), args.hours, args.severity)
    if args.output_format == "json":
        out.write(json.dumps({"hours": args.hours, "severity": args.severity, "current": now, "history": past},
                             indent=2) + "\n")
        return common.EXIT_OK
    scope = f" (severity {args.severity})" if args.severity else ""
    out.write(f"Current alerts{scope}: {len(now)}\n")
    out.write(table(("alert", "severity", "state", "since", "labels"),
                    [[a["alertname"], a["severity"], a["state"], a["starts_at"][:19], _detail(a["labels"])]
                     for a in now]) + "\n\n")
    out.write(f"Fired in the last {args.hours:g} h{scope}: {len(past)} episode(s)\n")
    out.write(table(("alert", "severity", "from", "to", "labels"),
                    [[e["alertname"], e["severity"], e["from"], e["to"], _detail(e["labels"])] for e in past]) + "\n")
    return common.EXIT_OK
