"""stdlib logging → OpenTelemetry logs, and a JSON stdout formatter carrying trace context and release.

The OTel bridge (the SDK's ``LoggingHandler``) sends records through the same exporters as spans, so logs are
scrubbed in the export thread like everything else. The JSON formatter (python-json-logger) writes one object
per line with ``trace_id``, ``span_id``, ``service`` and ``release``; it scrubs in the formatting thread
because stdout has no export thread.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from otel_clinic.config import ClinicConfig


class ClinicJsonFormatter(JsonFormatter):
    def __init__(self, *args: Any, service: str = "", release: str = "", environment: str = "", scrub_policy: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)  # ISO-8601 UTC
        super().__init__(*args, **kwargs)
        self._static = {"service": service, "release": release, "environment": environment}
        self._policy = scrub_policy

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
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
            return scrubbed if isinstance(scrubbed, dict) else log_record
        except Exception:  # never lose the log line because of the scrubber; drop the message instead
            log_record["message"] = "[UNSCRUBBABLE]"
            return log_record


_PRIMITIVES = (str, bool, int, float, bytes, type(None))


def _make_bridge(level: int, logger_provider: Any) -> logging.Handler:
    """opentelemetry-instrumentation-logging's handler, minus non-primitive ``extra`` values (Django attaches the
    whole request object, whose repr carries the raw path) that would otherwise be stringified into attributes."""
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class ClinicLoggingHandler(LoggingHandler):
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
