"""Django views: /health/live (process only), /health/ready (critical checks), /health/ (full JSON).

Details (check names, messages, version) go only to an authorised caller: a matching token in
`Authorization: Bearer <token>` or `X-Health-Token`, or (only if allow_loopback, default off) a loopback client
address on a request that did not pass through a proxy (no Forwarded / X-Forwarded-For / X-Real-IP header; see
otel_clinic.health.access).
Everyone else gets `{status, timestamp}`. These views create no spans; the foundation excludes /health/ paths
from request instrumentation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from otel_clinic.health import access
from otel_clinic.health.config import HealthSettings
from otel_clinic.health.report import full_body, minimal_body
from otel_clinic.health.result import HealthReport, Status, worst
from otel_clinic.health.state import get_runner, get_settings

logger = logging.getLogger(__name__)

_LIVE_BODY = b'{"status": "ok"}'
_NO_STORE = "no-store"


def is_authorised(request: HttpRequest, settings: HealthSettings) -> bool:
    return access.allowed(
        request.META, token=settings.token, token_header="HTTP_X_HEALTH_TOKEN", allow_loopback=settings.allow_loopback,
    )


def _respond(body: dict[str, Any], status: Status) -> JsonResponse:
    response = JsonResponse(body, status=503 if status is Status.DOWN else 200)
    response["Cache-Control"] = _NO_STORE
    return response


def _failure(exc: Exception) -> JsonResponse:
    # Our own failure must not look healthy, and must not raise into the request.
    logger.warning("health view failed: %s", type(exc).__name__, exc_info=True)
    return _respond(minimal_body(Status.DOWN), Status.DOWN)


@require_safe
def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Never touches a dependency."""
    response = HttpResponse(_LIVE_BODY, content_type="application/json")
    response["Cache-Control"] = _NO_STORE
    return response


@require_safe
def ready(request: HttpRequest) -> HttpResponse:
    """Readiness: 503 only when a critical check is down; degraded or non-critical problems stay ready."""
    try:
        report = get_runner().report()
        critical = HealthReport({n: r for n, r in report.results.items() if r.critical}, report.timestamp)
        status = worst(r.status for r in critical.results.values())
        if is_authorised(request, get_settings()):
            return _respond(full_body(critical, status), status)
        return _respond(minimal_body(status), status)
    except Exception as exc:
        return _failure(exc)


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    """Everything: {status, version, environment, checks, timestamp, uptime_s}; 503 when overall down."""
    try:
        report = get_runner().report()
        status = report.status
        if is_authorised(request, get_settings()):
            return _respond(full_body(report, status), status)
        return _respond(minimal_body(status), status)
    except Exception as exc:
        return _failure(exc)
