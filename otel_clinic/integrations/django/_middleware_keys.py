"""request.META keys of opentelemetry-instrumentation-django's middleware (read from the class when present)."""

from __future__ import annotations

_PREFIX = "opentelemetry-instrumentor-django."


def _key(attr: str, default: str) -> str:
    try:
        from opentelemetry.instrumentation.django.middleware.otel_middleware import _DjangoMiddleware

        return getattr(_DjangoMiddleware, attr, _PREFIX + default)
    except Exception:
        return _PREFIX + default


ACTIVATION = _key("_environ_activation_key", "activation_key")
SPAN = _key("_environ_span_key", "span_key")
TOKEN = _key("_environ_token", "token")
EXCEPTION = _key("_environ_exception_key", "exception_key")
ACTIVE_ATTRS = _key("_environ_active_request_attr_key", "active_request_attr_key")
DURATION_ATTRS = _key("_environ_duration_attr_key", "duration_attr_key")
TIMER = _key("_environ_timer_key", "timer_key")
