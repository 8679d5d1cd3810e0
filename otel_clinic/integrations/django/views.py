"""``/metrics`` for single-process deployments (opt-in with OTEL_CLINIC_PROMETHEUS=true).

With several workers each process has its own metrics: export OTLP to the Collector instead.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def metrics_view(request: HttpRequest) -> HttpResponse:
    from otel_clinic import _state

    handle = _state.handle
    if handle is None or not handle.config.prometheus_enabled:
        return HttpResponse("in-process Prometheus endpoint disabled (set OTEL_CLINIC_PROMETHEUS=true)\n",
                            status=404, content_type="text/plain")
    from otel_clinic.health.access import metrics_access_allowed, metrics_forbidden_response

    if not metrics_access_allowed(request.META):  # token or allowlisted networks; proxied requests never by address
        return metrics_forbidden_response()
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
