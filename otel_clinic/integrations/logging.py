"""stdlib logging → OpenTelemetry logs, and a JSON stdout formatter carrying trace context and release.

The OTel bridge (opentelemetry-instrumentation-logging's ``LoggingHandler``) sends records through the same exporters as spans, so logs are
scrubbed in the export thread like everything else. The JSON formatter (python-json-logger) writes one object
per line with ``trace_id``, ``span_id``, ``service`` and ``release``; it scrubs in the formatting thread
because stdout has no export thread.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from otel_clinic.config import ClinicConfig


_SAFE_FIELDS = ("timestamp", "level", "logger", "service", "release", "environment", "trace_id", "span_id")


def without_raw_path(record: logging.LogRecord) -> logging.LogRecord:
    """Django's ``django.request``/``django.server`` records carry the raw request path in their arguments
    ("Not Found: /api/patients/by-name/JaneRoe/"); return a copy naming the route template instead."""
    if record.name not in ("django.request", "django.server") or not isinstance(record.args, tuple) or not record.args:
        return record
    request = getattr(record, "request", None)
    route = getattr(getattr(request, "resolver_match", None), "route", None)
    placeholder = "/" + route.lstrip("/") if route else "[path]"
    args = list(record.args)
    if record.name == "django.request" and len(args) >= 2:
        args[1] = placeholder  # "%s: %s" % (reason_phrase, request.path)
    elif record.name == "django.server" and isinstance(args[0], str):
        parts = args[0].split(" ")  # "GET /raw/path?query HTTP/1.1"
        if len(parts) >= 2:
            parts[1] = placeholder
        args[0] = " ".join(parts)
    copy = logging.makeLogRecord(record.__dict__)
    copy.args = tuple(args)
    return copy


class ClinicJsonFormatter(JsonFormatter):
    def __init__(self, *args: Any, service: str = "", release: str = "", environment: str = "", scrub_policy: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)  # ISO-8601 UTC
        super().__init__(*args, **kwargs)
        self._static = {"service": service, "release": release, "environment": environment}
        self._policy = scrub_policy

    def format(self, record: logging.LogRecord) -> str:
        return super().format(without_raw_path(record))

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        if isinstance(log_record.get("timestamp"), datetime):
            log_record["timestamp"] = log_record["timestamp"].isoformat()
        log_record.update(self._static)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            log_record["trace_id"] = format(ctx.trace_id, "032x")
            log_record["span_id"] = format(ctx.span_id, "016x")
        for noisy in ("request", "otelSpanID", "otelTraceID", "otelTraceSampled", "otelServiceName", "color_message"):
            log_record.pop(noisy, None)

    def process_log_record(self, log_record: dict) -> dict:
        if self._policy is None:
            return log_record
        try:
            scrubbed = self._policy.scrub(log_record)
            if isinstance(scrubbed, dict):
                return scrubbed
        except Exception:
            pass
        # Fail closed: keep the line (so the event is visible) but only the fields we wrote ourselves.
        safe = {k: log_record[k] for k in _SAFE_FIELDS if k in log_record}
        safe["message"] = "[UNSCRUBBABLE]"
        return safe


_PRIMITIVES = (str, bool, int, float, bytes, type(None))


def _make_bridge(level: int, logger_provider: Any) -> logging.Handler:
    """opentelemetry-instrumentation-logging's handler, minus non-primitive ``extra`` values (Django attaches the
    whole request object, whose repr carries the raw path) that would otherwise be stringified into attributes."""
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class ClinicLoggingHandler(LoggingHandler):
        def emit(self, record: logging.LogRecord) -> None:
            # A logging call must never raise into the app (stdlib handlers report through handleError; we
            # drop the record instead, as its text may be what failed to format).
            try:
                super().emit(without_raw_path(record))
            except Exception:
                pass

        def _get_attributes(self, record: logging.LogRecord):  # type: ignore[override]
            attributes, event_name = super()._get_attributes(record)
            kept = {
                k: v for k, v in attributes.items()
                if isinstance(v, _PRIMITIVES) or (isinstance(v, (list, tuple)) and all(isinstance(i, _PRIMITIVES) for i in v))
            }
            return kept, event_name

    return ClinicLoggingHandler(level=level, logger_provider=logger_provider)


class LoggingSetup:
    """Attaches our handlers to the root logger and removes exactly them on shutdown."""

    def __init__(self) -> None:
        self.handlers: list[logging.Handler] = []
        self._previous_level: int | None = None

    def install(self, config: ClinicConfig, logger_provider: Any, scrub_policy: Any = None, stream: Any = None) -> None:
        root = logging.getLogger()
        self._previous_level = root.level
        root.setLevel(getattr(logging, config.log_level))
        if config.logs_bridge:
            bridge = _make_bridge(getattr(logging, config.log_level), logger_provider)
            # Our own exporters' warnings must not loop back into the log pipeline.
            bridge.addFilter(lambda record: not record.name.startswith(("opentelemetry", "otel_clinic.exporters")))
            self.handlers.append(bridge)
        if config.log_format != "none":
            handler = logging.StreamHandler(stream or sys.stdout)
            if config.log_format == "json":
                handler.setFormatter(
                    ClinicJsonFormatter(
                        service=config.service_name, release=config.release, environment=config.environment,
                        scrub_policy=scrub_policy if config.scrub_enabled else None,
                    )
                )
            self.handlers.append(handler)
        for handler in self.handlers:
            root.addHandler(handler)

    def uninstall(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            try:
                handler.flush()
            except Exception:
                pass
        self.handlers.clear()
        if self._previous_level is not None:
            root.setLevel(self._previous_level)
