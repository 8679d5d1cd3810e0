"""Rendering shared by the views, `manage.py monitor_health` and `otel-clinic health`."""

from __future__ import annotations

import json
import time
from typing import Any

from otel_clinic.health.result import CheckResult, HealthReport, Status, iso_utc

EXIT_UNKNOWN_CHECK = 64  # EX_USAGE

_started = time.time()


def uptime_s() -> float:
    return round(time.time() - _started, 1)


def full_body(report: HealthReport, status: Status | None = None) -> dict[str, Any]:
    """The seed-001 shape, extended: {status, version, environment, checks: {...}, timestamp, uptime_s}."""
    from otel_clinic.semantics.release import current_release

    release = current_release()
    return {
        "status": (status or report.status).value,
        "version": release.version,
        "environment": release.environment,
        "checks": {name: result.as_dict() for name, result in report.results.items()},
        "timestamp": iso_utc(time.time()),
        "uptime_s": uptime_s(),
    }


def minimal_body(status: Status) -> dict[str, Any]:
    """What an unauthorised caller sees: no check names, messages or versions."""
    return {"status": status.value, "timestamp": iso_utc(time.time())}


_MARK = {Status.OK: "✓", Status.DEGRADED: "!", Status.DOWN: "✗"}


def render_text(results: dict[str, CheckResult], *, verbose: bool) -> str:
    lines = []
    width = max((len(n) for n in results), default=0)
    for name, r in results.items():
        line = f"{_MARK[r.status]} {name.ljust(width)}  {r.status.value:<8} {r.latency_s * 1000:8.1f} ms"
        if verbose or r.status is not Status.OK:
            line += f"  {r.message}" if r.message else ""
        lines.append(line)
        if verbose and r.details:
            lines.append("    " + json.dumps(r.details, sort_keys=True, default=str))
    return "\n".join(lines)


def render_json(results: dict[str, CheckResult], overall: Status) -> str:
    from otel_clinic.semantics.release import current_release

    release = current_release()
    body = {
        "status": overall.value,
        "version": release.version,
        "environment": release.environment,
        "checks": {name: r.as_dict() for name, r in results.items()},
        "timestamp": iso_utc(time.time()),
    }
    return json.dumps(body, indent=2, sort_keys=False)
