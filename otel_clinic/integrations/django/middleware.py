"""Our server-span middleware: opentelemetry-instrumentation-django's ``_DjangoMiddleware`` without the work we
would throw away.

It reuses the contrib's pieces (``_start_internal_or_server_span`` for context extraction and SERVER/INTERNAL
kind, the WSGI/ASGI getters, ``add_response_attributes`` for status and span status, the response propagator)
but, per request, it:

* checks exclusions once, by path prefix (the contrib builds the absolute URL with ``build_absolute_uri`` and
  matches regexes on it in each of its four hooks; that also raised ``DisallowedHost`` before any span existed);
* collects only the request attributes we keep (method, scheme, configured server address, port, protocol
  version): never the raw URL, query, client address or user agent, which the contrib computes (``urljoin``,
  ``request_uri``) and we dropped again;
* names the span by method until the response (the contrib resolves the URL a second time to name it,
  contrib#2710) and calls our hooks directly;
* records no contrib metrics (our response hook records ``http.server.request.duration`` with our attributes);
* ends the span as a 500 when an exception escapes Django entirely (the contrib would leave it open and attached);
  a cancelled request (ASGI client disconnect) as a 499.

``ClinicDjangoInstrumentor`` configures the class attributes and puts the middleware first in ``MIDDLEWARE``;
with ``hooks`` unset (after uninstrumentation) an already built handler passes requests straight through.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from opentelemetry.context import attach, detach
from opentelemetry.instrumentation.propagators import get_global_response_propagator
from opentelemetry.instrumentation.utils import _start_internal_or_server_span
from opentelemetry.instrumentation.wsgi import add_response_attributes, wsgi_getter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

_logger = logging.getLogger("otel_clinic.django")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
# What the contrib's collectors record that may carry PHI or client identity: never set on server spans.
RAW_REQUEST_ATTRIBUTES = (
    "url.query", "url.full", "http.target", "http.url", "url.path", "client.address", "client.port", "http.client_ip",
    "net.peer.ip", "net.peer.port", "network.peer.address", "network.peer.port", "user_agent.original",
    "http.user_agent", "user_agent.synthetic.type",
)
# Filled from the client's Host header: replaced by the configured server address (or dropped).
HOST_ATTRIBUTES = ("server.address", "http.host", "net.host.name", "http.server_name")
START_TIME_KEY = "opentelemetry-instrumentor-django.starttime_key"  # the contrib's ASGI/WSGI start-time handoff


def _is_asgi(request: Any) -> bool:
    return hasattr(request, "scope")  # ASGIRequest; WSGIRequest has no scope


def wsgi_attributes(meta: dict, server_address: str | None) -> dict[str, Any]:
    """The stable-semconv request attributes we keep, straight from the WSGI environ."""
    raw_method = meta.get("REQUEST_METHOD", "")
    method = raw_method.upper()
    attributes: dict[str, Any] = {}
    if method in KNOWN_METHODS:
        attributes["http.request.method"] = method
    else:
        attributes["http.request.method"] = "_OTHER"
        attributes["http.request.method_original"] = raw_method
    scheme = meta.get("wsgi.url_scheme")
    if scheme:
        attributes["url.scheme"] = scheme
    if server_address:
        attributes["server.address"] = server_address
    port = meta.get("SERVER_PORT")
    if port:
        try:
            attributes["server.port"] = int(port)
        except ValueError:
            pass
    protocol = meta.get("SERVER_PROTOCOL", "")
    if protocol.upper().startswith("HTTP/"):
        protocol = protocol[5:]
    if protocol:
        attributes["network.protocol.version"] = protocol
    return attributes


def without_raw_data(attributes: dict[str, Any], server_address: str | None) -> dict[str, Any]:
    """Filter a contrib collector's attributes (ASGI, old semconv modes) down to what :func:`wsgi_attributes` keeps."""
    for key in RAW_REQUEST_ATTRIBUTES:
        attributes.pop(key, None)
    for key in HOST_ATTRIBUTES:
        if key in attributes:
            if server_address:
                attributes[key] = server_address
            else:
                del attributes[key]
    return attributes


class ClinicMiddleware:
    """Server span per request; configured by ``ClinicDjangoInstrumentor`` through the class attributes."""

    tracer: Any = None
    hooks: Any = None  # DjangoHooks; None = pass through
    excluded_prefixes: tuple[str, ...] = ()
    server_address: str | None = None
    sem_conv_opt_in_mode: Any = None
    stable_http_only = True  # OTEL_SEMCONV_STABILITY_OPT_IN=http: our own collector; else the contrib's, filtered
    # Opt-in header/attribute capture (a staticmethod, set by the instrumentor only when configured).
    extra_request_attributes: Any = None

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        hooks = self.hooks
        if hooks is None or (self.excluded_prefixes and request.path.startswith(self.excluded_prefixes)):
            return self.get_response(request)
        try:
            span, token, activation = self._start(request, hooks)
        except Exception:  # telemetry must never fail a request
            _logger.debug("could not start the request span", exc_info=True)
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException as exc:  # left Django entirely (e.g. the 500 handler failed): the server answers 500
            self._end_escaped(request, span, token, activation, hooks, exc)
            raise
        self._end(request, response, span, token, activation, hooks)
        return response

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        # Every middleware's request phase has run (request.user exists): resolve the tenant before the view.
        hooks = self.hooks
        if hooks is not None:
            hooks.before_view(request)

    def process_exception(self, request: Any, exception: BaseException) -> None:
        # Ends the span with it (exception event, error status), as the contrib does; Django then answers.
        try:
            request._otel_clinic_view_exception = exception
        except Exception:
            pass

    def _start(self, request: Any, hooks: Any) -> tuple[Any, Any, Any]:
        meta = request.META
        if _is_asgi(request):
            from opentelemetry.instrumentation.asgi import asgi_getter
            from opentelemetry.instrumentation.asgi import collect_request_attributes as asgi_collect

            carrier, getter = request.scope, asgi_getter
            attributes = without_raw_data(asgi_collect(carrier, self.sem_conv_opt_in_mode), self.server_address)
        elif self.stable_http_only:
            carrier, getter = meta, wsgi_getter
            attributes = wsgi_attributes(meta, self.server_address)
        else:
            from opentelemetry.instrumentation.wsgi import collect_request_attributes as wsgi_collect

            carrier, getter = meta, wsgi_getter
            attributes = without_raw_data(wsgi_collect(meta, self.sem_conv_opt_in_mode), self.server_address)
        method = attributes.get("http.request.method") or attributes.get("http.method") or "_OTHER"
        span, token = _start_internal_or_server_span(
            tracer=self.tracer, span_name=method if method in KNOWN_METHODS else "HTTP",
            start_time=meta.get(START_TIME_KEY), context_carrier=carrier, context_getter=getter, attributes=attributes,
        )
        capture = self.extra_request_attributes
        if capture is not None and span.is_recording():
            try:
                capture(span, request, carrier)
            except Exception:  # an opt-in capture must not cost the request its span
                _logger.debug("request attribute capture failed", exc_info=True)
        activation = attach(set_span_in_context(span))  # what use_span() does, without its generator
        hooks.request_hook(span, request)
        return span, token, activation

    def _end(self, request: Any, response: Any, span: Any, token: Any, activation: Any, hooks: Any) -> None:
        exception, status = None, None
        try:
            status = int(response.status_code)
            self._set_status(span, status, getattr(response, "reason_phrase", ""))
            propagator = get_global_response_propagator()
            if propagator:
                propagator.inject(response)
            exception = getattr(request, "_otel_clinic_view_exception", None)
            hooks.response_hook(span, request, response)
        except Exception:
            _logger.debug("could not finish the request span", exc_info=True)
        finally:
            self._close(span, token, activation, exception, status)

    def _end_escaped(self, request: Any, span: Any, token: Any, activation: Any, hooks: Any, exc: BaseException) -> None:
        try:
            if getattr(request, "_otel_clinic_exception", None) is None:
                request._otel_clinic_exception = exc
            from django.http import HttpResponse

            # A cancelled request (ASGI client disconnect: Django cancels the view) is not a server error: 499
            # (client closed request), not a critical 5xx that would page someone.
            status, reason = (499, "Client Closed Request") if isinstance(exc, asyncio.CancelledError) else (
                500, "Internal Server Error")
            self._set_status(span, status, reason)
            hooks.response_hook(span, request, HttpResponse(status=status))
        except Exception:  # nor hide the original exception
            _logger.debug("escaped-exception cleanup failed", exc_info=True)
        finally:
            self._close(span, token, activation, exc, None)

    def _set_status(self, span: Any, status: int, reason: str) -> None:
        if self.stable_http_only:
            # http.response.status_code comes with the response hook's attributes (one set_attributes call);
            # span status as the contrib sets it for a server span: ERROR for 5xx (and non-HTTP codes).
            if status < 100 or status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        else:
            add_response_attributes(span, f"{status} {reason}", (), sem_conv_opt_in_mode=self.sem_conv_opt_in_mode)

    @staticmethod
    def _close(span: Any, token: Any, activation: Any, exception: BaseException | None, status: int | None) -> None:
        # use_span(end_on_exit=True)'s exit: deactivate, record an exception, end. The ERROR status only when the
        # server failed (5xx, or the exception escaped Django): HTTP semconv leaves a server span's status unset
        # for 4xx, so Http404/PermissionDenied raised in a view are events on the span, not server errors (DRF's
        # handled exceptions and unmatched routes were already unset).
        detach(activation)  # logs (never raises) when reset from another context
        try:
            if isinstance(exception, Exception) and span.is_recording():
                span.record_exception(exception)
                if status is None or status >= 500:
                    span.set_status(Status(StatusCode.ERROR, f"{type(exception).__name__}: {exception}"))
            span.end()
        except Exception:
            _logger.debug("could not end the request span", exc_info=True)
        if token is not None:
            try:
                detach(token)
            except Exception:
                pass
