"""Clinic semantics on top of opentelemetry-instrumentation-django.

We add no timing middleware of our own: the contrib middleware calls our ``request_hook`` and
``response_hook``; we stamp a start time in the first, and in the second we name the span by route
template, set ``clinic.severity`` / ``error.category`` / ``error.type`` and record
``http.server.request.duration`` with those attributes (the contrib histogram cannot carry them, so its own
metrics are routed to a no-op meter provider). Raw URL, query, client IP and user agent are dropped from the
contrib's collected request attributes, so they are never set on the span.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import Span

from otel_clinic.config import ClinicConfig
from otel_clinic.instruments import get_instruments
from otel_clinic.integrations.django.request_state import RequestState, current_request
from otel_clinic.integrations.django.routes import route_template
from otel_clinic.semantics.errors import categorize_error, error_type
from otel_clinic.semantics.severity import classify_severity, thresholds_for_route

_logger = logging.getLogger("otel_clinic.django")

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
# Raw request data the contrib middleware would record and that may carry PHI: never set on server spans.
_RAW_URL_ATTRIBUTES = (
    "url.query", "url.full", "http.target", "http.url", "url.path", "client.address", "http.client_ip",
    "net.peer.ip", "network.peer.address", "user_agent.original", "http.user_agent",
)
_EXCEPTION_ATTR = "_otel_clinic_exception"
_STATE_ATTR = "_otel_clinic_state"


class DjangoHooks:
    """request/response hooks bound to one config."""

    def __init__(self, config: ClinicConfig) -> None:
        self.config = config

    def request_hook(self, span: Span, request: Any) -> None:
        try:
            self._start(request, span)
        except Exception:  # telemetry must never fail a request
            _logger.debug("request hook failed", exc_info=True)

    def _start(self, request: Any, span: Span | None = None) -> None:
        if span is not None:
            from otel_clinic.integrations.logging import REQUEST_SPAN_CONTEXT_ATTR

            setattr(request, REQUEST_SPAN_CONTEXT_ATTR, span.get_span_context())
        method = request.method if request.method in _KNOWN_METHODS else "_OTHER"
        state = RequestState(started=time.perf_counter(), method=method)
        setattr(request, _STATE_ATTR, state)
        setattr(request, "_otel_clinic_token", current_request.set(state))
        get_instruments().active_requests.add(1, {"http.request.method": method})

    def response_hook(self, span: Span, request: Any, response: Any) -> None:
        state: RequestState | None = getattr(request, _STATE_ATTR, None)
        token = getattr(request, "_otel_clinic_token", None)
        if state is None:
            return
        try:
            self._finish(span, request, response, state)
        except Exception:  # telemetry must never fail a request
            _logger.debug("response hook failed", exc_info=True)
        finally:
            try:
                get_instruments().active_requests.add(-1, {"http.request.method": state.method})
            except Exception:
                pass
            try:
                from otel_clinic.integrations.logging import check_attached

                check_attached()
            except Exception:
                pass
            if token is not None:
                try:
                    current_request.reset(token)
                except ValueError:  # reset from another context (ASGI thread hop): just clear it
                    current_request.set(None)

    def _finish(self, span: Span, request: Any, response: Any, state: RequestState) -> None:
        duration_s = time.perf_counter() - state.started
        status = int(getattr(response, "status_code", 0) or 0)
        # Django's route (``path()`` kept as written, regex/DRF routes as readable templates, ``''`` as ``/``);
        # None only when nothing matched.
        route = route_template(getattr(request, "resolver_match", None))
        exception = getattr(request, _EXCEPTION_ATTR, None)

        thresholds = (
            thresholds_for_route(route, self.config.severity, self.config.route_severity)
            if self.config.route_severity else self.config.severity
        )
        severity = classify_severity(duration_s * 1000.0, status, thresholds)
        category = categorize_error(status, exception)
        etype = error_type(status, exception) if category else None

        if span.is_recording():
            span.update_name(f"{state.method} {route}" if route else state.method)
            span_attrs: dict[str, Any] = {"clinic.severity": severity, "clinic.db.query_count": state.queries}
            if route:
                span_attrs["http.route"] = route
            if category:
                span_attrs["error.category"] = category
                span_attrs["error.type"] = etype
            if state.queries:
                span_attrs["clinic.db.duration_ms"] = round(state.db_seconds * 1000, 3)
            span.set_attributes(span_attrs)

        attrs: dict[str, Any] = {
            "http.request.method": state.method,
            "http.response.status_code": status,
            "clinic.severity": severity,
        }
        if route:
            attrs["http.route"] = route
        if category:
            attrs["error.category"] = category
            attrs["error.type"] = etype
        instruments = get_instruments()
        instruments.request_duration.record(duration_s, attrs)
        instruments.queries_per_request.record(state.queries, {"http.route": route} if route else {})


def _remember_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver: keep the exception for categorisation in the response hook."""
    import sys

    if request is not None:
        exc = sys.exc_info()[1]
        if exc is not None:
            try:
                setattr(request, _EXCEPTION_ATTR, exc)
            except Exception:
                pass


def excluded_urls_pattern(paths: tuple[str, ...]) -> str:
    """The contrib middleware matches ``re.search`` on the absolute URL; anchor our prefixes after the host."""
    return ",".join(rf"^[a-z]+://[^/]+{re.escape(p)}" for p in paths)


def _method_only_span_name(request: Any) -> str:
    """Initial span name: the method only. The contrib middleware resolves the URL a second time here just to
    name the span (contrib#2710); our response hook renames the span from Django's own resolver match."""
    method = (request.method or "").strip().upper()
    return method if method in _KNOWN_METHODS else "HTTP"


# Attributes the contrib fills from the client's Host header: replaced by the configured server address.
_HOST_ATTRIBUTES = ("server.address", "http.host", "net.host.name", "http.server_name")
_server_address: list[str | None] = []  # resolved once: [value]


def configured_server_address(config: ClinicConfig | None) -> str | None:
    """``OTEL_CLINIC_SERVER_ADDRESS``, else the first non-wildcard ``ALLOWED_HOSTS`` entry, else None."""
    if config is not None and config.server_address:
        return config.server_address
    if not _server_address:
        value = None
        try:
            from django.conf import settings

            for host in getattr(settings, "ALLOWED_HOSTS", ()) or ():
                host = str(host).strip().lstrip(".")
                if host and "*" not in host:
                    value = host
                    break
        except Exception:
            value = None
        _server_address.append(value)
    return _server_address[0]


def _without_raw_request_data(collect, config: ClinicConfig | None = None):
    """Wrap the contrib's request-attribute collector so raw URL, query, client IP and user agent are never set
    on the span at all (the contrib would set them twice, and we would delete them again in the hook), and the
    Host header never becomes ``server.address``."""

    def collect_request_attributes(*args: Any, **kwargs: Any) -> dict:
        attributes = collect(*args, **kwargs)
        for key in _RAW_URL_ATTRIBUTES:
            attributes.pop(key, None)
        if any(key in attributes for key in _HOST_ATTRIBUTES):
            address = configured_server_address(config)
            for key in _HOST_ATTRIBUTES:
                if key in attributes:
                    if address:
                        attributes[key] = address
                    else:
                        del attributes[key]
        return attributes

    collect_request_attributes.__wrapped__ = collect  # type: ignore[attr-defined]
    return collect_request_attributes


def _finish_escaped(middleware: Any, request: Any, exc: BaseException) -> None:
    """An exception left Django entirely (e.g. the 500 handler itself failed): the contrib middleware never
    reaches ``process_response``, so its span would stay open and its context attached to this thread (every
    later request would become its child). End it here as the 500 the WSGI server answers with: status and
    error on the span, our response hook (duration with status 500, severity, category, active requests),
    then the span's activation exits with the exception and the extracted-context token is detached."""
    meta = getattr(request, "META", None)
    if not isinstance(meta, dict):
        return
    from otel_clinic.integrations.django import _middleware_keys as keys

    activation = meta.pop(keys.ACTIVATION, None)
    span = meta.pop(keys.SPAN, None)
    meta.pop(keys.EXCEPTION, None)
    active_attrs = meta.pop(keys.ACTIVE_ATTRS, None)
    duration_attrs = meta.pop(keys.DURATION_ATTRS, None)
    meta.pop(keys.TIMER, None)
    token = meta.pop(keys.TOKEN, None)
    try:
        if activation is not None and span is not None:
            if getattr(request, _EXCEPTION_ATTR, None) is None:
                try:
                    setattr(request, _EXCEPTION_ATTR, exc)
                except Exception:
                    pass
            from django.http import HttpResponseServerError

            response = HttpResponseServerError()
            try:
                from opentelemetry.instrumentation.django.middleware.otel_middleware import add_response_attributes

                add_response_attributes(
                    span, "500 Internal Server Error", [], duration_attrs=duration_attrs if duration_attrs is not None else {},
                    sem_conv_opt_in_mode=getattr(middleware, "_sem_conv_opt_in_mode", None),
                )
            except Exception:
                span.set_attribute("http.response.status_code", 500)
            hook = _instrumented_with.response_hook if _instrumented_with is not None else None
            if hook is not None:
                hook(span, request, response)
        if active_attrs is not None:
            counter = getattr(middleware, "_active_request_counter", None)
            if counter is not None:
                counter.add(-1, active_attrs)
    except Exception:  # telemetry must never fail a request (nor hide the original exception)
        _logger.debug("escaped-exception cleanup failed", exc_info=True)
    finally:
        if activation is not None:
            try:
                activation.__exit__(type(exc), exc, exc.__traceback__)
            except Exception:
                _logger.debug("could not end the escaped request's span", exc_info=True)
        if token is not None:
            try:
                from opentelemetry.context import detach

                detach(token)
            except Exception:
                pass


def _shim_disallowed_host(request: Any) -> bool:
    """A request whose Host header Django rejects (400 ``DisallowedHost``) would get no span at all: the contrib
    middleware builds the absolute URL for its exclusion check first, which raises. For such a request only, the
    exclusion check gets a placeholder host (the header is never recorded); Django still answers 400."""
    try:
        from django.core.exceptions import DisallowedHost

        try:
            request.get_host()
            return False
        except DisallowedHost:
            pass
        original = request.build_absolute_uri

        def build_absolute_uri(location: Any = None) -> str:
            if location == "?":
                return "http://disallowed-host" + (getattr(request, "path", "/") or "/")
            return original(location)

        request.build_absolute_uri = build_absolute_uri
        return True
    except Exception:
        return False


def _call_surviving_escapes(original):
    def __call__(self, request):
        shimmed = _shim_disallowed_host(request)
        try:
            return original(self, request)
        except BaseException as exc:
            _finish_escaped(self, request, exc)
            raise
        finally:
            if shimmed:
                try:
                    del request.build_absolute_uri
                except Exception:
                    pass

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    return __call__


_COLLECTORS = ("wsgi_collect_request_attributes", "asgi_collect_request_attributes")
_original_call = None
_original_span_name = None
_original_collectors: dict[str, Any] = {}
_instrumented_with: DjangoHooks | None = None
_deferred = False
_deferred_original = None  # BaseHandler.load_middleware while our deferral patch is installed


def instrument_django(config: ClinicConfig, tracer_provider) -> None:
    """Instrument Django once (re-instrumenting if our hooks changed) with our hooks and exclusions.

    If Django settings are not resolvable yet (``opentelemetry-instrument`` runs before ``manage.py`` sets
    ``DJANGO_SETTINGS_MODULE``), instrumentation is deferred to the first handler build instead of letting the
    contrib instrumentor call ``settings.configure()`` on empty settings.
    """
    global _instrumented_with
    from django.conf import settings

    hooks = DjangoHooks(config)
    if not _settings_resolvable(settings):
        _defer_until_handler(config, tracer_provider)
        return
    from django.core.signals import got_request_exception
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from otel_clinic.integrations.django import cache as cache_instr
    from otel_clinic.integrations.django import db as db_instr

    instrumentor = DjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=NoOpMeterProvider(),
        request_hook=hooks.request_hook,
        response_hook=hooks.response_hook,
        excluded_urls=excluded_urls_pattern(config.excluded_paths),
    )
    global _original_span_name
    from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

    if _original_span_name is None:
        _original_span_name = _DjangoMiddleware.__dict__.get("_get_span_name")
        _DjangoMiddleware._get_span_name = staticmethod(_method_only_span_name)
    global _original_call
    if _original_call is None and "__call__" in _DjangoMiddleware.__dict__:
        _original_call = _DjangoMiddleware.__dict__["__call__"]
        _DjangoMiddleware.__call__ = _call_surviving_escapes(_original_call)
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    for name in _COLLECTORS:
        collect = getattr(otel_middleware, name, None)
        if collect is not None and name not in _original_collectors:
            _original_collectors[name] = collect
            setattr(otel_middleware, name, _without_raw_request_data(collect, config))
    got_request_exception.connect(_remember_exception, dispatch_uid="otel_clinic.remember_exception")
    db_instr.install(config)
    cache_instr.install()
    _instrumented_with = hooks


def uninstrument_django() -> None:
    global _instrumented_with
    _undo_deferral()
    if _instrumented_with is None:
        return
    from django.core.signals import got_request_exception
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from otel_clinic.integrations.django import cache as cache_instr
    from otel_clinic.integrations.django import db as db_instr

    instrumentor = DjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    global _original_span_name
    if _original_span_name is not None:
        from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

        _DjangoMiddleware._get_span_name = _original_span_name
        _original_span_name = None
    global _original_call
    if _original_call is not None:
        from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

        _DjangoMiddleware.__call__ = _original_call
        _original_call = None
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    for name, collect in _original_collectors.items():
        setattr(otel_middleware, name, collect)
    _original_collectors.clear()
    _server_address.clear()
    got_request_exception.disconnect(dispatch_uid="otel_clinic.remember_exception")
    db_instr.uninstall()
    cache_instr.uninstall()
    _instrumented_with = None


def _settings_resolvable(settings) -> bool:
    import os

    return settings.configured or bool(os.environ.get("DJANGO_SETTINGS_MODULE"))


def _defer_until_handler(config: ClinicConfig, tracer_provider) -> None:
    """Patch BaseHandler.load_middleware once so instrumentation happens right before the first handler is built."""
    global _deferred
    if _deferred:
        return
    from django.core.handlers.base import BaseHandler

    global _deferred_original
    original = _deferred_original = BaseHandler.load_middleware

    def load_middleware(self, *args, **kwargs):
        _undo_deferral()
        try:
            instrument_django(config, tracer_provider)
        except Exception:
            _logger.exception("otel_clinic: deferred Django instrumentation failed; the app runs untraced")
        return original(self, *args, **kwargs)

    BaseHandler.load_middleware = load_middleware
    _deferred = True


def _undo_deferral() -> None:
    """Put BaseHandler.load_middleware back if the deferred patch is still in place (shutdown before any request)."""
    global _deferred, _deferred_original
    if _deferred_original is not None:
        from django.core.handlers.base import BaseHandler

        BaseHandler.load_middleware = _deferred_original
    _deferred_original = None
    _deferred = False
