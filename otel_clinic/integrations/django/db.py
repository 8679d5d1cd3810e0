"""Per-request query counts, ``db.client.operation.duration`` and slow-query span events.

Every query records ``db.client.operation.duration`` (the slow-query-rate and DB latency alerts divide by its
count); inside an HTTP request it also bumps the request's query count and DB time, recorded once per request
as ``clinic.db.queries_per_request`` and the span attributes ``clinic.db.query_count``/``clinic.db.duration_ms``.

Installed as a Django ``execute_wrapper`` on every connection (present ones and, through the
``connection_created`` signal, future ones). The SQL text of a slow query is recorded with every literal
replaced by ``?``; fast queries record no text at all.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import trace

from otel_clinic import tenants
from otel_clinic.config import ClinicConfig
from otel_clinic.instruments import get_instruments
from otel_clinic.integrations.django.request_state import current_request

_logger = logging.getLogger("otel_clinic.django.db")
_installed: "QueryObserver | None" = None


def _operation(sql: str) -> str:
    head = sql.lstrip(" (\n\t").split(None, 1)
    word = head[0].upper() if head else ""
    return word if word.isalpha() and len(word) <= 12 else "OTHER"


class QueryObserver:
    def __init__(self, slow_query_ms: float) -> None:
        self.slow_query_s = slow_query_ms / 1000.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            try:
                self._observe(sql, time.perf_counter() - started, context)
            except Exception:  # telemetry must never fail a query
                _logger.debug("query observation failed", exc_info=True)

    def _observe(self, sql: Any, duration_s: float, context: dict) -> None:
        state = current_request.get()
        if state is not None:
            state.queries += 1
            state.db_seconds += duration_s
        connection = context.get("connection") if isinstance(context, dict) else None
        system = getattr(connection, "vendor", "unknown")
        sql_text = sql if isinstance(sql, str) else str(sql)
        attrs = {"db.system.name": system, "db.operation.name": _operation(sql_text)}
        tenant = tenants.current_tenant()
        if tenant is not None:
            attrs[tenants.ATTRIBUTE] = tenant
        instruments = get_instruments()
        instruments.db_duration.record(duration_s, attrs)
        if duration_s >= self.slow_query_s:
            from otel_clinic.scrubbing import obfuscate_sql

            instruments.slow_queries.add(1, attrs)
            span = trace.get_current_span()
            if span.is_recording():
                span.add_event(
                    "db.slow_query",
                    {**attrs, "db.query.text": obfuscate_sql(sql_text), "db.operation.duration_ms": round(duration_s * 1000, 3)},
                )
            _logger.warning(
                "slow query: %s took %.0f ms", attrs["db.operation.name"], duration_s * 1000,
                extra={"db.system.name": system, "db.query.text": obfuscate_sql(sql_text)},
            )


def _on_connection_created(sender, connection, **kwargs) -> None:
    _attach(connection)


def _attach(connection) -> None:
    if _installed is not None and _installed not in connection.execute_wrappers:
        connection.execute_wrappers.append(_installed)


def install(config: ClinicConfig) -> None:
    global _installed
    from django.db import connections
    from django.db.backends.signals import connection_created

    uninstall()
    _installed = QueryObserver(config.slow_query_ms)
    connection_created.connect(_on_connection_created, dispatch_uid="otel_clinic.db")
    for alias in connections:
        _attach(connections[alias])


def uninstall() -> None:
    global _installed
    from django.db import connections
    from django.db.backends.signals import connection_created

    if _installed is None:
        return
    connection_created.disconnect(dispatch_uid="otel_clinic.db")
    for alias in connections:
        wrappers = connections[alias].execute_wrappers
        while _installed in wrappers:
            wrappers.remove(_installed)
    _installed = None
