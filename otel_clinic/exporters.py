"""Exporter factories and the fork-safe, failure-counting wrappers around them.

Exporters are created lazily in the process (and thread) that first exports: a gunicorn master that calls
``setup()`` before forking never opens a socket its workers would share, and after a fork the child builds its
own exporter on its first export (the SDK already restarts batch threads and metric readers after fork).
Span and log batches that fail to export go to a bounded retry buffer (``otel_clinic.retry``) and are re-sent
with backoff when the endpoint is back; what is given up on is counted in
``clinic.telemetry.dropped{signal, reason}`` (``export_failed``, ``retry_buffer_full``, ``retry_expired``,
``shutdown``). Exceptions are logged once and turned into a failure result, never raised into the SDK.
Metrics are not buffered: they are cumulative, so the next successful export carries the totals.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any, Callable, Sequence

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_clinic.config import ClinicConfig
from otel_clinic.export_files import Rotation, RotatingJsonLinesFile
from otel_clinic.retry import SHUTDOWN_TIMEOUT_MS, RetryBuffer

_logger = logging.getLogger("otel_clinic.exporters")


DROPPED = "clinic.telemetry.dropped"
# One instrument per MeterProvider, created by whoever asks first (DropCounter.bind, before the scrubbing
# exporters ask with their own meter): name, unit and description live only here. The SDK's meters of one
# provider share their measurement consumer; that is the key (the meter itself for other implementations).
_dropped_counters: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
_dropped_lock = threading.Lock()


def dropped_counter(meter: Any) -> Any:
    """The ``clinic.telemetry.dropped{signal, reason}`` counter of ``meter``'s provider (created once)."""
    key = getattr(meter, "_measurement_consumer", None) or meter
    with _dropped_lock:
        counter = _dropped_counters.get(key)
        if counter is None:
            counter = meter.create_counter(
                DROPPED, unit="{item}", description="Telemetry items otel_clinic dropped, by signal and reason",
            )
            _dropped_counters[key] = counter
        return counter


class DropCounter:
    """Counts telemetry we lose; bound to a meter once the MeterProvider exists."""

    def __init__(self) -> None:
        self._counter = None

    def bind(self, meter) -> None:
        self._counter = dropped_counter(meter)

    def add(self, count: int, signal: str, reason: str) -> None:
        if self._counter is not None and count:
            try:
                self._counter.add(count, {"signal": signal, "reason": reason})
            except Exception:  # counting must never fail an export
                pass


class _Lazy:
    """Holds one inner exporter per process, built on first use."""

    def __init__(self, factory: Callable[[], object], name: str) -> None:
        self._factory = factory
        self._name = name
        self._inner = None
        self._pid = None
        self._lock = threading.Lock()
        self._warned = False

    def get(self):
        pid = os.getpid()
        if self._inner is None or self._pid != pid:
            with self._lock:
                if self._inner is None or self._pid != pid:
                    self._inner = self._factory()
                    self._pid = pid
        return self._inner

    def warn_once(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            _logger.warning(
                "otel_clinic: %s export failed (the app is unaffected; failed batches are retried from a bounded "
                "buffer or counted as dropped): %s", self._name, exc,
            )

    def shutdown(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None and self._pid == os.getpid():
            try:
                inner.shutdown()
            except Exception:
                pass


class _LazyBatchExporter:
    """Shared body of the span and log wrappers: build per process, turn exceptions into a failure, and keep
    failed batches in a bounded retry buffer (``retry_buffer_size`` items, 0 = off: failures are dropped)."""

    _signal = ""
    _success: Any = None
    _failure: Any = None

    def __init__(
        self,
        factory: Callable[[], Any],
        name: str,
        drops: DropCounter,
        *,
        retry_buffer_size: int = 0,
        retry_max_age_s: float = 300.0,
    ) -> None:
        self._lazy = _Lazy(factory, name)
        self._drops = drops
        # Set by ClinicTelemetry.shutdown(): the retry-buffer flush at shutdown ends by then (monotonic seconds),
        # whatever timeout the SDK's batch processor passes (it passes none through our scrubbing wrapper).
        self.shutdown_deadline: float | None = None
        self.retry = RetryBuffer(
            self._send, self._count_drop, max_items=retry_buffer_size, max_age_s=retry_max_age_s, name=name
        )

    def _count_drop(self, count: int, reason: str) -> None:
        self._drops.add(count, self._signal, reason)

    def _send(self, batch: Sequence) -> bool:
        try:
            return self._lazy.get().export(batch) is self._success
        except Exception as exc:
            self._lazy.warn_once(exc)
            return False

    def export(self, batch: Sequence) -> Any:
        return self._success if self.retry.export(batch) else self._failure

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        ok = self.retry.flush(timeout_millis)
        inner = self._lazy._inner
        # Some exporters' force_flush returns None: only an explicit False is a failure.
        return (inner is None or inner.force_flush(timeout_millis) is not False) and ok

    def shutdown(self, timeout_millis: float = SHUTDOWN_TIMEOUT_MS, **kwargs: Any) -> None:
        if self.shutdown_deadline is not None:
            timeout_millis = min(timeout_millis, max(0.0, (self.shutdown_deadline - time.monotonic()) * 1000))
        self.retry.shutdown(timeout_millis)
        self._lazy.shutdown()


class LazySpanExporter(_LazyBatchExporter, SpanExporter):
    _signal, _success, _failure = "traces", SpanExportResult.SUCCESS, SpanExportResult.FAILURE


class LazyLogExporter(_LazyBatchExporter, LogRecordExporter):
    _signal, _success, _failure = "logs", LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE


class LazyMetricExporter(MetricExporter):
    """Cumulative temporality (what Prometheus needs) with the SDK's default aggregations.

    No retry buffer: every collection carries the running totals, so after a failed export the next successful
    one delivers what the failed one would have (only the intermediate points are missing). The failed points
    are still counted as ``reason="export_failed"``.
    """

    def __init__(self, factory: Callable[[], MetricExporter], name: str, drops: DropCounter) -> None:
        super().__init__()
        self._lazy = _Lazy(factory, name)
        self._drops = drops
        # Set by ClinicTelemetry.shutdown(): the retry-buffer flush at shutdown ends by then (monotonic seconds),
        # whatever timeout the SDK's batch processor passes (it passes none through our scrubbing wrapper).
        self.shutdown_deadline: float | None = None

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        try:
            result = self._lazy.get().export(metrics_data, timeout_millis=timeout_millis)
        except Exception as exc:
            self._lazy.warn_once(exc)
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            points = sum(
                len(m.data.data_points)
                for rm in metrics_data.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
            )
            self._drops.add(points, "metrics", "export_failed")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        inner = self._lazy._inner
        return inner.force_flush(timeout_millis) if inner is not None else True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._lazy.shutdown()


# --- factories ----------------------------------------------------------------------------------------


def _stream(config: ClinicConfig, kind: str, signal: str, rotation: Rotation) -> IO:
    if kind == "console":
        return sys.stdout
    return RotatingJsonLinesFile(Path(config.export_dir) / f"{signal}.jsonl", rotation)  # type: ignore[return-value]


_OTLP_EXPORTERS = {
    ("traces", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ("traces", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    ("metrics", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    ("metrics", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
    ("logs", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc._log_exporter", "OTLPLogExporter"),
    ("logs", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
}
_CONSOLE_EXPORTERS = {
    "traces": ("opentelemetry.sdk.trace.export", "ConsoleSpanExporter"),
    "metrics": ("opentelemetry.sdk.metrics.export", "ConsoleMetricExporter"),
    "logs": ("opentelemetry.sdk._logs.export", "ConsoleLogRecordExporter"),
}


def _otlp_endpoint(config: ClinicConfig, signal: str) -> str | None:
    """The endpoint to pass explicitly, or None to let the exporter read its own environment.

    A signal-specific ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` always wins (the exporter reads it); otherwise the
    configured base endpoint (keyword or ``OTEL_EXPORTER_OTLP_ENDPOINT``) gets the HTTP signal path appended.
    """
    if not config.otlp_endpoint or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
        return None
    if config.otlp_protocol == "grpc":
        return config.otlp_endpoint
    return config.otlp_endpoint.rstrip("/") + f"/v1/{signal}"


def exporter_factory(config: ClinicConfig, kind: str, signal: str) -> Callable[[], Any]:
    """A zero-argument constructor for one exporter: OTLP (reads its own ``OTEL_EXPORTER_OTLP_*`` settings),
    or the SDK console exporter writing one JSON object per line to stdout or ``<export_dir>/<signal>.jsonl``
    (0640 files, rotated by size/count, shared safely by worker processes: ``otel_clinic.export_files``)."""
    import importlib

    if kind == "otlp":
        module, name = _OTLP_EXPORTERS[(signal, config.otlp_protocol)]
        exporter_cls = getattr(importlib.import_module(module), name)
        endpoint = _otlp_endpoint(config, signal)
        return (lambda: exporter_cls(endpoint=endpoint)) if endpoint else exporter_cls
    module, name = _CONSOLE_EXPORTERS[signal]
    console = getattr(importlib.import_module(module), name)
    rotation = Rotation.from_config(config)
    return lambda: console(
        out=_stream(config, kind, signal, rotation), formatter=lambda item: item.to_json(indent=None) + "\n"
    )
