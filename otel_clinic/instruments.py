"""All metric instruments otel_clinic records, created once per MeterProvider (names: docs/CONTRACTS.md).

Before ``setup()`` the instruments come from the global (proxy/no-op) meter, so decorators and helpers can be
used at import time without failing.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Meter, Observation

# semconv buckets for http.server.request.duration (seconds); SLO thresholds (0.1, 0.5, 1, 2.5) are edges.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
QUERY_COUNT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500)


class ActiveRequests:
    """``http.server.active_requests`` as an observable up-down counter over plain integers.

    Two synchronous SDK measurements per request (+1/-1) cost more than the rest of our request-thread work;
    an integer under a lock, read once per metric collection, gives the same series.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, delta: int, attributes: dict) -> None:
        method = attributes.get("http.request.method", "_OTHER")
        with self._lock:
            self._counts[method] += delta

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            counts = dict(self._counts)
        return [Observation(value, {"http.request.method": method}) for method, value in counts.items()]


class Instruments:
    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.request_duration = meter.create_histogram(
            "http.server.request.duration", unit="s", description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=HTTP_BUCKETS,
        )
        self.active_requests = ActiveRequests()
        meter.create_observable_up_down_counter(
            "http.server.active_requests", callbacks=[self.active_requests.observe], unit="{request}",
            description="Number of active HTTP server requests.",
        )
        self.queries_per_request = meter.create_histogram(
            "clinic.db.queries_per_request", unit="{query}", description="Database queries executed per HTTP request.",
            explicit_bucket_boundaries_advisory=QUERY_COUNT_BUCKETS,
        )
        self.db_duration = meter.create_histogram(
            "db.client.operation.duration", unit="s", description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0),
        )
        self.slow_queries = meter.create_counter(
            "clinic.db.slow_queries", unit="{query}", description="Queries slower than the slow-query threshold."
        )
        self.cache_hits = meter.create_counter("clinic.cache.hits", unit="{request}", description="Django cache hits.")
        self.cache_misses = meter.create_counter("clinic.cache.misses", unit="{request}", description="Django cache misses.")
        self.operation_duration = meter.create_histogram(
            "clinic.operation.duration", unit="s",
            description="Duration of operations wrapped by @monitor_performance / @monitor_database_query.",
            explicit_bucket_boundaries_advisory=HTTP_BUCKETS,
        )
        self.patient_operations = meter.create_counter(
            "clinic.patient.operations", unit="{operation}", description="Patient record operations by kind."
        )
        self.appointments_booked = meter.create_counter(
            "clinic.appointments.booked", unit="{appointment}", description="Appointments booked."
        )
        self.prescriptions_created = meter.create_counter(
            "clinic.prescriptions.created", unit="{prescription}", description="Prescriptions created."
        )
        self.tenant_folded = meter.create_counter(
            "clinic.tenant.folded", unit="{tenant}",
            description="Tenant attributions reported as _other (over OTEL_CLINIC_TENANT_LIMIT distinct tenants).",
        )
        self.tenant_resolver_errors = meter.create_counter(
            "clinic.tenant.resolver_errors", unit="{error}",
            description="Exceptions raised by the OTEL_CLINIC_TENANT_RESOLVER function (the request went on).",
        )
        self.active_users = meter.create_up_down_counter(
            "clinic.users.active", unit="{user}", description="Users currently active (logged-in sessions)."
        )


_current: Instruments | None = None


def set_instruments(instruments: Instruments | None) -> None:
    global _current
    _current = instruments


def get_instruments() -> Instruments:
    global _current
    if _current is None:
        _current = Instruments(metrics.get_meter("otel_clinic"))
    return _current
