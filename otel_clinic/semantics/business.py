"""Business-metric helpers and the seeds' monitoring decorators, as thin wrappers over OTel instruments.

Attributes are bounded: operation kinds and appointment types come from small fixed sets (anything else is
recorded as ``other``), never from user input such as patient ids; the counters carry ``clinic.tenant`` of the
current request or task (at most ``OTEL_CLINIC_TENANT_LIMIT`` values, see ``otel_clinic.tenants``).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable, TypeVar

from opentelemetry import trace

from otel_clinic.instruments import get_instruments
from otel_clinic.tenants import ATTRIBUTE as TENANT_ATTRIBUTE
from otel_clinic.tenants import current_tenant
from otel_clinic.semantics.severity import NORMAL, SLOW, WARNING, CRITICAL

_logger = logging.getLogger("otel_clinic.performance")
F = TypeVar("F", bound=Callable[..., Any])

PATIENT_OPERATIONS = frozenset({"create", "read", "update", "delete", "search", "export"})
APPOINTMENT_TYPES = frozenset({"consultation", "follow_up", "procedure", "telehealth", "emergency", "other"})


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


def _tenant_attrs(attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    """``attrs`` plus ``clinic.tenant`` of the current request or task (bounded by the tenant guard)."""
    attrs = attrs if attrs is not None else {}
    tenant = current_tenant()
    if tenant is not None:
        attrs[TENANT_ATTRIBUTE] = tenant
    return attrs


def _never_raises(func: F) -> F:
    """Business helpers are called from views: a telemetry failure must not become a failed request."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            _logger.debug("business metric %s failed", func.__name__, exc_info=True)

    return wrapper  # type: ignore[return-value]


@_never_raises
def record_patient_operation(operation: str) -> None:
    get_instruments().patient_operations.add(1, _tenant_attrs({"clinic.operation": _bounded(operation, PATIENT_OPERATIONS)}))


@_never_raises
def record_appointment_booked(appointment_type: str = "consultation") -> None:
    get_instruments().appointments_booked.add(
        1, _tenant_attrs({"clinic.appointment.type": _bounded(appointment_type, APPOINTMENT_TYPES)})
    )


@_never_raises
def record_prescription_created(count: int = 1) -> None:
    get_instruments().prescriptions_created.add(count, _tenant_attrs())


@_never_raises
def user_logged_in() -> None:
    get_instruments().active_users.add(1)


@_never_raises
def user_logged_out() -> None:
    get_instruments().active_users.add(-1)


def _severity_for(duration_ms: float, threshold_ms: float) -> str:
    # The seeds' decorator semantics: over threshold is a warning, over 4x is critical, over half is slow.
    if duration_ms >= threshold_ms * 4:
        return CRITICAL
    if duration_ms >= threshold_ms:
        return WARNING
    if duration_ms >= threshold_ms / 2:
        return SLOW
    return NORMAL


def _timed(kind: str, name: str, threshold_ms: float, extra: dict[str, Any]) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            # Looked up per call: a tracer cached at import would stay bound to whichever provider came first.
            with trace.get_tracer("otel_clinic").start_as_current_span(name, attributes={"clinic.operation": name, **extra}) as span:
                try:
                    return func(*args, **kwargs)
                finally:
                    duration_ms = (time.perf_counter() - started) * 1000
                    severity = _severity_for(duration_ms, threshold_ms)
                    try:
                        span.set_attribute("clinic.severity", severity)
                        get_instruments().operation_duration.record(
                            duration_ms / 1000, {"clinic.operation": name, "clinic.severity": severity}
                        )
                        if severity in (WARNING, CRITICAL):
                            _logger.warning("%s %s took %.0f ms (threshold %.0f ms)", kind, name, duration_ms, threshold_ms)
                    except Exception:
                        pass

        return wrapper  # type: ignore[return-value]

    return decorator


def monitor_performance(name: str, threshold_ms: float = 1000.0) -> Callable[[F], F]:
    """Time a function in a span; over ``threshold_ms`` logs a warning and marks severity."""
    return _timed("operation", name, threshold_ms, {})


def monitor_database_query(query_type: str = "SELECT", threshold_ms: float = 1000.0) -> Callable[[F], F]:
    """Time a database-heavy function; over ``threshold_ms`` (seed default 1 s) logs a warning."""
    query_type = query_type.upper() if query_type.upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "OTHER"} else "OTHER"

    def decorator(func: F) -> F:
        return _timed("query", f"db.{query_type.lower()}.{func.__name__}", threshold_ms, {"db.operation.name": query_type})(func)

    return decorator
