"""Test helpers: run ``setup()`` against in-memory exporters and read back what would have been exported.

    with otel_clinic.testing.capture(service_name="t") as cap:
        client.get("/api/patients/")
        cap.flush()
        spans = cap.spans(); points = cap.metric_points("http.server.request.duration"); logs = cap.logs()

OpenTelemetry's global providers are set-once per process; ``reset_globals()`` (also run on exit) makes the
next ``setup()`` install fresh ones. Test-only: uses the SDK's private globals.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any, Iterator

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def reset_globals() -> None:
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics._internal._METER_PROVIDER_SET_ONCE = Once()
    metrics._internal._METER_PROVIDER = None
    _logs._internal._LOGGER_PROVIDER_SET_ONCE = Once()
    _logs._internal._LOGGER_PROVIDER = None


@dataclass
class Capture:
    handle: Any
    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader
    stdout: io.StringIO = field(default_factory=io.StringIO)

    def flush(self) -> None:
        self.handle.force_flush()

    def spans(self) -> list:
        self.handle.tracer_provider.force_flush()
        return list(self.span_exporter.get_finished_spans())

    def logs(self) -> list:
        self.handle.logger_provider.force_flush()
        return list(self.log_exporter.get_finished_logs())

    def metric_points(self, name: str) -> list:
        """Data points of one instrument (cumulative), from a fresh collection."""
        data = self.metric_reader.get_metrics_data()
        points = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def json_lines(self) -> list[dict]:
        import json

        return [json.loads(line) for line in self.stdout.getvalue().splitlines() if line.strip()]


@contextlib.contextmanager
def capture(**overrides: Any) -> Iterator[Capture]:
    import otel_clinic
    from otel_clinic import _state

    if _state.handle is not None:
        _state.handle.shutdown()
    reset_globals()
    spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
    stdout = io.StringIO()
    overrides.setdefault("traces_exporters", "none")
    overrides.setdefault("metrics_exporters", "none")
    overrides.setdefault("logs_exporters", "none")
    overrides.setdefault("instrumentations", "none")
    handle = otel_clinic.setup(
        extra_span_exporters=[spans], extra_log_exporters=[logs], extra_metric_readers=[reader], log_stream=stdout,
        **overrides,
    )
    try:
        yield Capture(handle, spans, logs, reader, stdout)
    finally:
        handle.shutdown()
        reset_globals()
