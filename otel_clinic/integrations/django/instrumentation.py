"""``ClinicDjangoInstrumentor``: everything otel_clinic patches or inserts into Django, recorded and undone.

opentelemetry-python-contrib's instrumentor pattern (``BaseInstrumentor``: ``instrument()`` once,
``uninstrument()`` reverses it). ``instrument(config=..., tracer_provider=...)`` installs, each step pushing its
own undo onto a stack that ``_uninstrument`` pops:

* our server-span middleware (``middleware.ClinicMiddleware``, configured with our hooks and exclusions) first in
  ``settings.MIDDLEWARE``; the contrib ``DjangoInstrumentor`` is uninstrumented if someone instrumented it, so
  a request gets one server span;
* the ``got_request_exception`` receiver (error categories), the DB execute wrapper (``db.py``: query counts,
  ``db.client.operation.duration``, slow queries) and the cache wrappers (``cache.py``: hits/misses);
* when Django settings are not resolvable yet (``opentelemetry-instrument`` runs before ``manage.py`` sets
  ``DJANGO_SETTINGS_MODULE``), only a one-shot patch of ``BaseHandler.load_middleware`` that installs the rest
  right before the first handler is built.

A handler built while instrumented keeps its middleware instance; after ``uninstrument()`` that instance passes
requests straight through (no span, no metrics).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Collection

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from otel_clinic.config import ClinicConfig
from otel_clinic.integrations.django.hooks import DjangoHooks, remember_exception

_logger = logging.getLogger("otel_clinic.django")

MIDDLEWARE_PATH = "otel_clinic.integrations.django.middleware.ClinicMiddleware"
_EXCEPTION_UID = "otel_clinic.remember_exception"


def configured_server_address(config: ClinicConfig | None) -> str | None:
    """``OTEL_CLINIC_SERVER_ADDRESS``, else the first non-wildcard ``ALLOWED_HOSTS`` entry, else None (the
    client's Host header is never recorded)."""
    if config is not None and config.server_address:
        return config.server_address
    try:
        from django.conf import settings

        for host in getattr(settings, "ALLOWED_HOSTS", ()) or ():
            host = str(host).strip().lstrip(".")
            if host and "*" not in host:
                return host
    except Exception:
        pass
    return None


def _settings_resolvable(settings: Any) -> bool:
    return settings.configured or bool(os.environ.get("DJANGO_SETTINGS_MODULE"))


class ClinicDjangoInstrumentor(BaseInstrumentor):
    """Instrument Django with otel_clinic's middleware, hooks, DB and cache wrappers; undo all of it."""

    _instance = None  # BaseInstrumentor keeps one instance per class
    _undo: list[Callable[[], None]] = []

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("django >= 2.0",)

    def _instrument(self, **kwargs: Any) -> None:
        config: ClinicConfig = kwargs["config"]
        tracer_provider = kwargs.get("tracer_provider")
        self._undo = []
        from django.conf import settings

        if _settings_resolvable(settings):
            self._install(config, tracer_provider)
        else:
            self._defer(config, tracer_provider)

    def _uninstrument(self, **kwargs: Any) -> None:
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:
                _logger.debug("undoing a Django patch failed", exc_info=True)

    @property
    def patches(self) -> int:
        """How many recorded patches are in place (0 once uninstrumented)."""
        return len(self._undo)

    # --- steps ---------------------------------------------------------------------------------------------

    def _defer(self, config: ClinicConfig, tracer_provider: Any) -> None:
        """Patch BaseHandler.load_middleware once; the first handler build installs everything, then unpatches."""
        from django.core.handlers.base import BaseHandler

        original = BaseHandler.__dict__["load_middleware"]
        instrumentor = self

        def load_middleware(handler: Any, *args: Any, **kwargs: Any) -> Any:
            restore()
            try:
                instrumentor._undo.remove(restore)
            except ValueError:
                pass
            try:
                instrumentor._install(config, tracer_provider)
            except Exception:
                _logger.exception("otel_clinic: deferred Django instrumentation failed; the app runs untraced")
            return original(handler, *args, **kwargs)

        def restore() -> None:
            BaseHandler.load_middleware = original

        BaseHandler.load_middleware = load_middleware
        self._undo.append(restore)

    def _install(self, config: ClinicConfig, tracer_provider: Any) -> None:
        self._take_over_contrib()
        self._configure_middleware(config, tracer_provider)
        self._insert_middleware()
        self._connect_exception_receiver()
        self._install_db(config)
        self._install_cache()

    def _take_over_contrib(self) -> None:
        # The stock instrumentor's middleware would open a second server span around ours.
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        contrib = DjangoInstrumentor()
        if contrib.is_instrumented_by_opentelemetry:
            contrib.uninstrument()

    def _configure_middleware(self, config: ClinicConfig, tracer_provider: Any) -> None:
        from opentelemetry.instrumentation._semconv import (
            _OpenTelemetrySemanticConventionStability,
            _OpenTelemetryStabilitySignalType,
            _get_schema_url,
            _StabilityMode,
        )
        from opentelemetry.instrumentation.django.version import __version__
        from opentelemetry.trace import get_tracer

        from otel_clinic.integrations.django.middleware import ClinicMiddleware

        _OpenTelemetrySemanticConventionStability._initialize()
        mode = _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
            _OpenTelemetryStabilitySignalType.HTTP
        )
        # The contrib's instrumentation scope, so backends and queries see the same scope name as before.
        tracer = get_tracer("opentelemetry.instrumentation.django", __version__, tracer_provider=tracer_provider,
                            schema_url=_get_schema_url(mode))
        ClinicMiddleware.tracer = tracer
        ClinicMiddleware.sem_conv_opt_in_mode = mode
        ClinicMiddleware.stable_http_only = mode is _StabilityMode.HTTP
        ClinicMiddleware.excluded_prefixes = tuple(config.excluded_paths)
        ClinicMiddleware.server_address = configured_server_address(config)
        capture = _opt_in_request_attributes()
        ClinicMiddleware.extra_request_attributes = staticmethod(capture) if capture is not None else None
        ClinicMiddleware.hooks = DjangoHooks(config)

        def reset() -> None:
            ClinicMiddleware.hooks = None
            ClinicMiddleware.tracer = None
            ClinicMiddleware.extra_request_attributes = None

        self._undo.append(reset)

    def _insert_middleware(self) -> None:
        from django.conf import settings

        middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
        if MIDDLEWARE_PATH in middleware:
            return
        settings.MIDDLEWARE = [MIDDLEWARE_PATH, *middleware]

        def remove() -> None:
            current = list(getattr(settings, "MIDDLEWARE", None) or [])
            if MIDDLEWARE_PATH in current:
                current.remove(MIDDLEWARE_PATH)
                settings.MIDDLEWARE = current

        self._undo.append(remove)

    def _connect_exception_receiver(self) -> None:
        from django.core.signals import got_request_exception

        got_request_exception.connect(remember_exception, dispatch_uid=_EXCEPTION_UID)
        self._undo.append(lambda: got_request_exception.disconnect(dispatch_uid=_EXCEPTION_UID))

    def _install_db(self, config: ClinicConfig) -> None:
        from otel_clinic.integrations.django import db

        db.install(config)
        self._undo.append(db.uninstall)

    def _install_cache(self) -> None:
        from otel_clinic.integrations.django import cache

        cache.install()
        self._undo.append(cache.uninstall)


def _opt_in_request_attributes() -> Callable[[Any, Any, Any], None] | None:
    """The contrib's opt-in request captures (``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST``,
    ``OTEL_PYTHON_DJANGO_TRACED_REQUEST_ATTRS``), read once; None when neither is set (the usual case: no per-request
    cost). Raw URL/client attributes stay excluded either way."""
    from opentelemetry.util.http import (
        OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST,
        get_custom_headers,
        get_traced_request_attrs,
    )

    headers = get_custom_headers(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST)
    traced = get_traced_request_attrs("DJANGO")
    if not headers and not traced:
        return None
    from opentelemetry.instrumentation.utils import extract_attributes_from_object
    from opentelemetry.instrumentation.wsgi import collect_custom_request_headers_attributes

    from otel_clinic.integrations.django.middleware import RAW_REQUEST_ATTRIBUTES

    def capture(span: Any, request: Any, carrier: Any) -> None:
        attributes: dict[str, Any] = {}
        if traced:
            attributes = extract_attributes_from_object(request, traced, attributes)
        if headers and isinstance(carrier, dict):
            attributes.update(collect_custom_request_headers_attributes(carrier))
        for key in RAW_REQUEST_ATTRIBUTES:
            attributes.pop(key, None)
        if attributes:
            span.set_attributes(attributes)

    return capture


def instrument_django(config: ClinicConfig, tracer_provider: Any) -> ClinicDjangoInstrumentor:
    """(Re-)instrument Django for this config; what ``setup()`` calls."""
    instrumentor = ClinicDjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(config=config, tracer_provider=tracer_provider, skip_dep_check=True)
    return instrumentor


def uninstrument_django() -> None:
    instrumentor = ClinicDjangoInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
