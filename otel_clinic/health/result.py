"""Health statuses and results: the values every check, view, gauge and command agree on."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class Status(str, enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def gauge_value(self) -> float:
        """The `clinic.health.status` value: 1 ok, 0.5 degraded, 0 down."""
        return _GAUGE[self]

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """monitor_health / `otel-clinic health` exit code: 0 ok, 1 degraded, 2 down."""
        return _SEVERITY[self]


_GAUGE = {Status.OK: 1.0, Status.DEGRADED: 0.5, Status.DOWN: 0.0}
_SEVERITY = {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}


def worst(statuses: Any) -> Status:
    """The most severe status of an iterable (OK for an empty one)."""
    result = Status.OK
    for status in statuses:
        if status.severity > result.severity:
            result = status
    return result


@dataclass(frozen=True)
class Outcome:
    """What a check returns: a status, a short operator-facing message and optional JSON-safe details."""

    status: Status
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One executed check: its outcome plus latency, wall-clock time and criticality."""

    name: str
    status: Status
    message: str
    latency_s: float
    timestamp: float  # unix time the check finished (or timed out)
    critical: bool
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "message": self.message,
            "latency_ms": round(self.latency_s * 1000.0, 2),
            "critical": self.critical,
            "timestamp": iso_utc(self.timestamp),
            **({"details": self.details} if self.details else {}),
        }


@dataclass(frozen=True)
class HealthReport:
    """The results of one round."""

    results: dict[str, CheckResult]
    timestamp: float

    @property
    def status(self) -> Status:
        """Overall status: `down` only when a critical check is down; a non-critical `down` degrades."""
        statuses = []
        for result in self.results.values():
            if result.status is Status.DOWN and not result.critical:
                statuses.append(Status.DEGRADED)
            else:
                statuses.append(result.status)
        return worst(statuses)

    @property
    def worst_status(self) -> Status:
        """The most severe status regardless of criticality (used for command exit codes)."""
        return worst(r.status for r in self.results.values())


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
