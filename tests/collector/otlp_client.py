"""A small OTLP client for collector tests: SDK providers exporting over gRPC to one collector endpoint.

Each `OtlpClient` has its own providers (nothing global), so tests can send traces/logs/metrics with
chosen resource attributes and flush them synchronously.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

DEFAULT_RESOURCE = {
    "service.name": "clinic-api",
    "service.namespace": "clinic",
    "service.version": "2.7.1",
    "deployment.environment.name": "staging",
}


@dataclass
class OtlpClient:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    logger: logging.Logger

    @classmethod
    def connect(cls, endpoint: str, resource: dict[str, str] | None = None, name: str = "otlp-client") -> OtlpClient:
        res = Resource.create({**DEFAULT_RESOURCE, **(resource or {})})
        url = f"http://{endpoint}"
        tp = TracerProvider(resource=res)
        tp.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=url, insecure=True), max_queue_size=20000, schedule_delay_millis=200)
        )
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=url, insecure=True), export_interval_millis=1000
        )
        mp = MeterProvider(resource=res, metric_readers=[reader])
        lp = LoggerProvider(resource=res)
        lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=url, insecure=True), schedule_delay_millis=200))
        logger = logging.getLogger(f"{name}.{id(lp)}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(LoggingHandler(logger_provider=lp))
        return cls(tp, mp, lp, logger)

    def flush(self) -> None:
        self.tracer_provider.force_flush(10_000)
        self.logger_provider.force_flush(10_000)
        self.meter_provider.force_flush(10_000)

    def shutdown(self) -> None:
        self.flush()
        for handler in list(self.logger.handlers):
            self.logger.removeHandler(handler)
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()
