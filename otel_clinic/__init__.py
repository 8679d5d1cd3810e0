"""otel_clinic: PHI-safe OpenTelemetry for Django clinic applications.

    import otel_clinic
    otel_clinic.setup()          # once, in manage.py / wsgi.py / asgi.py, before the handler is built
    otel_clinic.setup(service_name="clinic-api", sentry=otel_clinic.SentryOptions(traces_sample_rate=0.1),
                      scrubbing=otel_clinic.ScrubbingOptions(extra_keys=["ward"]), prometheus=False)
"""

from __future__ import annotations

from typing import Any

from otel_clinic.config import ClinicConfig, SeverityThresholds
from otel_clinic.errors import ConfigError
from otel_clinic.options import HealthOptions, PrometheusOptions, ScrubbingOptions, SentryOptions
from otel_clinic.semantics.business import (
    monitor_database_query,
    monitor_performance,
    record_appointment_booked,
    record_patient_operation,
    record_prescription_created,
    user_logged_in,
    user_logged_out,
)
from otel_clinic.semantics.deployment import track_deployment
from otel_clinic.semantics.errors import CATEGORIES, categorize_error, register_error_rule
from otel_clinic.semantics.release import current_release
from otel_clinic.semantics.severity import SEVERITIES, classify_severity
from otel_clinic.telemetry import ClinicTelemetry, post_fork, setup, worker_exit
from otel_clinic.tenants import set_tenant

__version__ = "0.1.0"

__all__ = [
    "CATEGORIES", "SEVERITIES", "ClinicConfig", "ClinicTelemetry", "ConfigError", "HealthOptions", "PrometheusOptions",
    "ScrubPolicy", "ScrubbingOptions", "SentryOptions", "SeverityThresholds",
    "categorize_error", "classify_severity", "current_release", "get_telemetry", "monitor_database_query",
    "monitor_performance", "post_fork", "worker_exit", "record_appointment_booked", "record_patient_operation",
    "record_prescription_created", "register_error_rule", "scrub", "set_tenant", "setup", "track_deployment", "user_logged_in",
    "user_logged_out",
]


def get_telemetry() -> ClinicTelemetry | None:
    """The handle returned by ``setup()``, or None before setup."""
    from otel_clinic import _state

    return _state.handle


def __getattr__(name: str) -> Any:
    # The scrubbing engine compiles its detectors on import; load it when first used.
    if name in ("scrub", "ScrubPolicy"):
        from otel_clinic import scrubbing

        return getattr(scrubbing, name)
    raise AttributeError(f"module 'otel_clinic' has no attribute {name!r}")
