"""Request severity from latency and status: normal / slow / warning / critical (seed thresholds)."""

from __future__ import annotations

from typing import Mapping

from otel_clinic.config import SeverityThresholds

NORMAL, SLOW, WARNING, CRITICAL = "normal", "slow", "warning", "critical"
SEVERITIES = (NORMAL, SLOW, WARNING, CRITICAL)


def classify_severity(
    duration_ms: float,
    status_code: int | None = None,
    thresholds: SeverityThresholds = SeverityThresholds(),
) -> str:
    """5xx is always critical; otherwise the latency band decides."""
    if status_code is not None and status_code >= 500:
        return CRITICAL
    if duration_ms >= thresholds.critical_ms:
        return CRITICAL
    if duration_ms >= thresholds.warning_ms:
        return WARNING
    if duration_ms >= thresholds.slow_ms:
        return SLOW
    return NORMAL


def thresholds_for_route(
    route: str | None,
    default: SeverityThresholds,
    per_route: Mapping[str, SeverityThresholds],
) -> SeverityThresholds:
    """Per-route thresholds are keyed by the Django route template (with or without a leading '/')."""
    if route and per_route:
        found = per_route.get(route) or per_route.get(route.lstrip("/")) or per_route.get("/" + route.lstrip("/"))
        if found:
            return found
    return default
