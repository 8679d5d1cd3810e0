"""OTEL_CLINIC_TENANT_RESOLVER for the example app in the dashboard pipeline (pipeline.py): two tenants by route,
so the dashboards' tenant variable and per-tenant panels have real clinic_tenant series to run against."""

from __future__ import annotations

from typing import Any


def by_route(request: Any) -> str | None:
    path = getattr(request, "path", "")
    if path.startswith("/health"):
        return None  # probes belong to no organisation
    return "org-patients" if "patients" in path else "org-other"
