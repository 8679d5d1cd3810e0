"""Tracer, meter and logger providers built from one ClinicConfig.

Pipeline per signal: SDK provider → batch processor (bounded queue, drops counted by the SDK's own
``otel.sdk.processor.*.processed{error.type=queue_full}`` metric) → PHI-scrubbing exporter wrapper (runs in the
export thread, never on the request thread) → fork-safe lazy exporter (OTLP, console or JSON-lines file).
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_clinic import exporters
from otel_clinic.config import ClinicConfig
from otel_clinic.scrubbing.scrubber import scrubber_for

_logger = logging.getLogger("otel_clinic")


def build_resource(config: ClinicConfig) -> Resource:
    """``OTEL_RESOURCE_ATTRIBUTES`` (merged by the SDK) plus our attributes, which win: the config already took
    service name/namespace/version/environment from that variable unless a keyword or our variables said otherwise.

    ``service.instance.id`` is unique per process so several gunicorn workers never collide on one cumulative series.
    """
    attrs = {
        "service.name": config.service_name,
        "service.namespace": config.service_namespace,
        "service.version": config.release,
        "service.instance.id": str(uuid.uuid4()),
        "deployment.environment.name": config.environment,
        "telemetry.distro.name": "otel_clinic",
    }
    resource = Resource.create(attrs)
    # Resource.create lets OTEL_SERVICE_NAME win over the given attributes; the config already ranked the sources.
    return resource.merge(Resource({"service.name": config.service_name}))


def build_sampler(config: ClinicConfig) -> sampling.Sampler:
    ratio = 1.0 if config.sampler_arg is None else config.sampler_arg
    return {
        "always_on": lambda: sampling.ALWAYS_ON,
        "always_off": lambda: sampling.ALWAYS_OFF,
        "traceidratio": lambda: sampling.TraceIdRatioBased(ratio),
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }[config.sampler]()


@dataclass
class Providers:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    drops: exporters.DropCounter
    prometheus_server: Any = None
    closers: list = field(default_factory=list)
    # Our span/log exporters (each with a retry buffer), flushed by ClinicTelemetry.force_flush().
    retrying_exporters: list = field(default_factory=list)


def _queue_full(processor) -> bool:
    # The SDK's BatchProcessor drops the oldest item when its deque is full; it only reports that through
    # its internal metrics, which also add per-span tracer metrics we do not want on the request path.
    inner = getattr(processor, "_batch_processor", None)
    queue = getattr(inner, "_queue", None)
    return queue is not None and len(queue) >= queue.maxlen


class _CountsQueueFull:
    """Mixin for the SDK batch processors: count the item the full queue is about to drop."""

    _signal = ""

    def __init__(self, exporter: Any, drops: exporters.DropCounter, **kwargs: Any) -> None:
        super().__init__(exporter, **kwargs)  # type: ignore[call-arg]
        self._drops = drops

    def _note_item(self) -> None:
        if _queue_full(self):
            self._drops.add(1, self._signal, "queue_full")


class CountingBatchSpanProcessor(_CountsQueueFull, BatchSpanProcessor):
    _signal = "traces"

    def on_end(self, span) -> None:
        self._note_item()
        super().on_end(span)


class CountingBatchLogRecordProcessor(_CountsQueueFull, BatchLogRecordProcessor):
    _signal = "logs"

    def on_emit(self, log_record) -> None:
        self._note_item()
        super().on_emit(log_record)


def _signal_exporters(config: ClinicConfig, signal: str, kinds, lazy_cls, wrap, extras, drops, retrying: list) -> list:
    """The configured exporters of one signal (lazy, fork-safe, with a retry buffer) plus caller-supplied ones,
    all behind the scrubber (so the retry buffer holds scrubbed copies). ``retrying`` collects ours."""
    configured = []
    for kind in kinds:
        if kind == "none":
            continue
        lazy = lazy_cls(
            exporters.exporter_factory(config, kind, signal), f"{kind} {signal}", drops,
            retry_buffer_size=config.retry_buffer_size, retry_max_age_s=config.retry_max_age_s,
        )
        retrying.append(lazy)
        configured.append(wrap(lazy))
    return configured + [wrap(e) for e in extras]


def _no_metrics_port_here(argv: Sequence[str] | None = None, environ=None) -> str | None:
    """Why this process must not bind ``OTEL_CLINIC_PROMETHEUS_PORT`` (None: it should).

    * Django's autoreloader parent (``runserver`` without ``--noreload``, before ``RUN_MAIN`` is set) only
      watches files; the child it starts serves the requests, so the child must own the port.
    * A Celery worker (``celery ... worker``) shares the web process's environment but not its requests: it
      would take (or fail to take) the web process's port.
    """
    import sys

    argv = list(sys.argv if argv is None else argv)
    env = os.environ if environ is None else environ
    args = [a for a in argv[1:] if not a.startswith("-")]
    if args[:1] == ["runserver"] and "--noreload" not in argv and env.get("RUN_MAIN") != "true":
        return "the runserver autoreloader parent; its serving child binds the port"
    program = os.path.basename(argv[0]) if argv else ""
    if ("celery" in program or "celery" in (argv[0] if argv else "") or "celery" in argv[:3]) and "worker" in args:
        return "a Celery worker; only the web process serves /metrics"
    return None


def build_providers(
    config: ClinicConfig,
    *,
    scrub_policy: Any = None,  # a ScrubPolicy, a Scrubber, or None (no scrubbing)
    extra_span_exporters: Sequence[SpanExporter] = (),
    extra_log_exporters: Sequence[LogRecordExporter] = (),
    extra_metric_readers: Sequence[MetricReader] = (),
) -> Providers:
    resource = build_resource(config)
    drops = exporters.DropCounter()

    # --- metrics first: the span/log processors report into it
    readers: list[MetricReader] = list(extra_metric_readers)
    for kind in config.metrics_exporters:
        if kind == "none":
            continue
        exporter = exporters.LazyMetricExporter(exporters.exporter_factory(config, kind, "metrics"), f"{kind} metrics", drops)
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=config.metric_export_interval_ms))
    prometheus_server = None
    if config.prometheus_enabled:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())
        skip = _no_metrics_port_here()
        if config.prometheus_port and skip:
            _logger.info("otel_clinic: OTEL_CLINIC_PROMETHEUS_PORT=%s not bound in this process (%s)",
                         config.prometheus_port, skip)
        elif config.prometheus_port:
            from prometheus_client import start_http_server

            try:
                prometheus_server = start_http_server(config.prometheus_port, addr=config.prometheus_host)
            except OSError as exc:
                # Fail open (a second worker on the same port must still serve requests); /metrics stays
                # available through the Django view in this process.
                _logger.warning(
                    "otel_clinic: OTEL_CLINIC_PROMETHEUS_PORT=%s could not be bound (%s); no metrics server in this "
                    "process. With several workers export OTLP to the Collector instead.", config.prometheus_port, exc,
                )
    scrubber = scrubber_for(config.scrub_enabled, scrub_policy)
    views = scrubber.metric_views()
    readers = [scrubber.wrap_metric_reader(reader) for reader in readers]
    from opentelemetry.sdk.metrics._internal import _get_exemplar_filter

    exemplar_filter = config.exemplar_filter
    if views and exemplar_filter != "always_off":
        # The SDK keeps the attributes a view drops and ships them as exemplar "filtered_attributes": that
        # would bypass the metric attribute allowlist, so exemplars stay off while scrubbing is on.
        _logger.warning(
            "otel_clinic: OTEL_METRICS_EXEMPLAR_FILTER=%s ignored: exemplars would export attributes the PHI "
            "allowlist removes; they are available with OTEL_CLINIC_SCRUB=false", exemplar_filter,
        )
        exemplar_filter = "always_off"

    meter_provider = MeterProvider(
        resource=resource, metric_readers=readers, views=views, shutdown_on_exit=False,
        exemplar_filter=_get_exemplar_filter(exemplar_filter),
    )
    drops.bind(meter_provider.get_meter("otel_clinic"))
    scrub_meter = meter_provider.get_meter("otel_clinic.scrubbing")

    def wrap_spans(exporter: SpanExporter) -> SpanExporter:
        return scrubber.wrap_span_exporter(exporter, scrub_meter)

    def wrap_logs(exporter: LogRecordExporter) -> LogRecordExporter:
        return scrubber.wrap_log_exporter(exporter, scrub_meter)

    # --- traces
    tracer_provider = TracerProvider(resource=resource, sampler=build_sampler(config), shutdown_on_exit=False)
    retrying: list = []
    span_exporters = _signal_exporters(
        config, "traces", config.traces_exporters, exporters.LazySpanExporter, wrap_spans, extra_span_exporters, drops,
        retrying,
    )
    for exporter in span_exporters:
        tracer_provider.add_span_processor(
            CountingBatchSpanProcessor(
                exporter,
                drops,
                max_queue_size=config.bsp_max_queue_size,
                max_export_batch_size=min(config.bsp_max_export_batch_size, config.bsp_max_queue_size),
                schedule_delay_millis=config.bsp_schedule_delay_ms,
            )
        )

    # --- logs
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    log_exporters = _signal_exporters(
        config, "logs", config.logs_exporters, exporters.LazyLogExporter, wrap_logs, extra_log_exporters, drops,
        retrying,
    )
    for exporter in log_exporters:
        logger_provider.add_log_record_processor(
            CountingBatchLogRecordProcessor(
                exporter,
                drops,
                max_queue_size=config.blrp_max_queue_size,
                schedule_delay_millis=config.bsp_schedule_delay_ms,
            )
        )
    return Providers(tracer_provider, meter_provider, logger_provider, drops, prometheus_server,
                     retrying_exporters=retrying)


def stamp_new_instance(providers: Providers) -> None:
    """After fork: a fresh ``service.instance.id`` so each worker reports its own cumulative series."""
    fresh = Resource({"service.instance.id": str(uuid.uuid4()), "process.pid": os.getpid()})
    for provider in (providers.tracer_provider, providers.meter_provider):
        update = getattr(provider, "_update_resource", None)  # SDK >= 1.44; absent → keep the parent's id
        if update is not None:
            try:
                update(fresh)
            except Exception:
                _logger.debug("could not refresh resource after fork", exc_info=True)
