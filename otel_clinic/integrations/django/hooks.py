"""Clinic semantics of a Django request, called by our middleware (``middleware.py``).

``request_hook`` stamps the start, opens the request state (query counting) and the tenant scope;
``before_view`` resolves the tenant; ``response_hook`` names the span by route template, sets
``clinic.severity`` / ``error.category`` / ``error.type`` / ``clinic.tenant`` and records
``http.server.request.duration`` and ``clinic.db.queries_per_request`` with those attributes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry.trace import Span

from otel_clinic import tenants
from otel_clinic.config import ClinicConfig
from otel_clinic.instruments import get_instruments
from otel_clinic.integrations.django.request_state import RequestState, current_request
from otel_clinic.integrations.django.routes import route_template
from otel_clinic.integrations.logging import REQUEST_SPAN_CONTEXT_ATTR, check_attached
from otel_clinic.semantics.errors import categorize_error, error_type
from otel_clinic.semantics.severity import classify_severity, thresholds_for_route

_logger = logging.getLogger("otel_clinic.django")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
EXCEPTION_ATTR = "_otel_clinic_exception"  # set by the got_request_exception receiver
STATE_ATTR = "_otel_clinic_state"


class DjangoHooks:
    """Request/response hooks bound to one config."""

    def __init__(self, config: ClinicConfig) -> None:
        self.config = config

    def request_hook(self, span: Span, request: Any) -> None:
        try:
            setattr(request, REQUEST_SPAN_CONTEXT_ATTR, span.get_span_context())
            method = request.method if request.method in KNOWN_METHODS else "_OTHER"
            state = RequestState(started=time.perf_counter(), method=method)
            state.token = current_request.set(state)
            state.tenant_token = tenants.begin()
            setattr(request, STATE_ATTR, state)
            get_instruments().active_requests.add(1, {"http.request.method": method})
        except Exception:  # telemetry must never fail a request
            _logger.debug("request hook failed", exc_info=True)

    def before_view(self, request: Any) -> None:
        try:
            state: RequestState | None = getattr(request, STATE_ATTR, None)
            if state is not None and not state.tenant_resolved:
                state.tenant_resolved = True
                tenants.resolve(request)
        except Exception:  # telemetry must never fail a request
            _logger.debug("tenant resolution failed", exc_info=True)

    def response_hook(self, span: Span, request: Any, response: Any) -> None:
        state: RequestState | None = getattr(request, STATE_ATTR, None)
        if state is None:
            return
        try:
            if not state.tenant_resolved:  # no view ran (404, a middleware answered): resolve now
                state.tenant_resolved = True
                tenants.resolve(request)
            self._finish(span, request, response, state)
        except Exception:  # telemetry must never fail a request
            _logger.debug("response hook failed", exc_info=True)
        finally:
            try:
                get_instruments().active_requests.add(-1, {"http.request.method": state.method})
                check_attached()
            except Exception:
                pass
            tenants.end(state.tenant_token)
            if state.token is not None:
                try:
                    current_request.reset(state.token)
                except ValueError:  # reset from another context (ASGI thread hop): just clear it
                    current_request.set(None)

    def _finish(self, span: Span, request: Any, response: Any, state: RequestState) -> None:
        duration_s = time.perf_counter() - state.started
        status = int(getattr(response, "status_code", 0) or 0)
        # Django's route (``path()`` kept as written, regex/DRF routes as readable templates, ``''`` as ``/``);
        # None only when nothing matched.
        route = route_template(getattr(request, "resolver_match", None))
        exception = getattr(request, EXCEPTION_ATTR, None)
        config = self.config
        thresholds = (
            thresholds_for_route(route, config.severity, config.route_severity)
            if config.route_severity else config.severity
        )
        severity = classify_severity(duration_s * 1000.0, status, thresholds)
        category = categorize_error(status, exception) if status >= 400 or exception is not None else None
        tenant = tenants.current_tenant()

        attrs: dict[str, Any] = {
            "http.request.method": state.method,
            "http.response.status_code": status,
            "clinic.severity": severity,
        }
        if route:
            attrs["http.route"] = route
        if category:
            attrs["error.category"] = category
            attrs["error.type"] = error_type(status, exception)
        if tenant is not None:
            attrs[tenants.ATTRIBUTE] = tenant

        if span.is_recording():
            # semconv: an unknown method (``_OTHER``) is named ``HTTP`` (``HTTP {route}``), as the span starts
            name_method = "HTTP" if state.method == "_OTHER" else state.method
            span.update_name(f"{name_method} {route}" if route else name_method)
            span_attrs = dict(attrs)
            del span_attrs["http.request.method"]  # set at the span's start
            span_attrs["clinic.db.query_count"] = state.queries
            if state.queries:
                span_attrs["clinic.db.duration_ms"] = round(state.db_seconds * 1000, 3)
            span.set_attributes(span_attrs)

        instruments = get_instruments()
        instruments.request_duration.record(duration_s, attrs)
        query_attrs = {"http.route": route} if route else {}
        if tenant is not None:
            query_attrs[tenants.ATTRIBUTE] = tenant
        instruments.queries_per_request.record(state.queries, query_attrs)


def remember_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver: keep the exception for categorisation in the response hook."""
    import sys

    if request is not None:
        exc = sys.exc_info()[1]
        if exc is not None:
            try:
                setattr(request, EXCEPTION_ATTR, exc)
            except Exception:
                pass
