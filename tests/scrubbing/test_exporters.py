"""Span and log exporter wrappers, driven through the real SDK pipelines."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from otel_clinic.scrubbing import ScrubbingLogExporter, ScrubbingSpanExporter, ScrubPolicy

POLICY = ScrubPolicy.default()
CANARIES = ("123-45-6789", "jane.roe@example.com", "555-867-5309", "A7654321", "Jane Roe", "1980-02-03")


def _metric_points(reader: InMemoryMetricReader) -> dict[str, list]:
    data = reader.get_metrics_data()
    out: dict[str, list] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out.setdefault(metric.name, []).extend(metric.data.data_points)
    return out


@pytest.fixture()
def traced():
    sink = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    provider = TracerProvider(resource=Resource.create({"service.name": "clinic-api"}), span_limits=SpanLimits(max_attributes=20))
    provider.add_span_processor(SimpleSpanProcessor(ScrubbingSpanExporter(sink, POLICY, meter)))
    yield provider.get_tracer("t"), sink, reader
    provider.shutdown()


def test_span_attributes_events_status_links_and_name(traced) -> None:
    tracer, sink, reader = traced
    with tracer.start_as_current_span("linked") as other:
        pass
    with tracer.start_as_current_span(
        "GET /patients/123-45-6789/",
        links=[Link(other.get_span_context(), {"note": "Jane Roe", "peer": "jane.roe@example.com"})],
    ) as span:
        span.set_attribute("http.route", "patients/<str:ssn>/")
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("url.full", "https://clinic.example/patients/123-45-6789/?dob=1980-02-03")
        span.set_attribute("db.statement", "SELECT * FROM p WHERE mrn = 'A7654321'")
        span.set_attribute("clinic.note", "call 555-867-5309")
        span.set_attribute("patient.email", "jane.roe@example.com")
        span.add_event("lookup", {"query": "patient: Jane Roe"})
        try:
            raise ValueError("no patient with email jane.roe@example.com and MRN: A7654321")
        except ValueError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "lookup failed for 123-45-6789"))
    exported = {s.name: s for s in sink.get_finished_spans()}
    span = exported["GET patients/<str:ssn>/"]
    dump = repr([(s.name, dict(s.attributes), [(e.name, dict(e.attributes)) for e in s.events],
                  [dict(link.attributes) for link in s.links], s.status.description) for s in exported.values()])
    for canary in CANARIES:
        assert canary not in dump, canary
    assert span.attributes["http.route"] == "patients/<str:ssn>/"
    assert span.attributes["url.full"] == "https://clinic.example/patients/<str:ssn>/"
    assert span.attributes["db.statement"] == "SELECT * FROM p WHERE mrn = ?"
    assert span.attributes["clinic.note"] == "call [PHONE]"
    exc_event = next(e for e in span.events if e.name == "exception")
    assert exc_event.attributes["exception.type"] == "ValueError"
    assert "[EMAIL]" in exc_event.attributes["exception.message"]
    assert "ValueError" in exc_event.attributes["exception.stacktrace"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "lookup failed for [SSN]"
    assert span.resource.attributes["service.name"] == "clinic-api"
    assert span.links[0].context.span_id == exported["linked"].context.span_id
    points = _metric_points(reader)["clinic.scrub.redactions"]
    by_detector = {p.attributes["detector"]: p.value for p in points}
    assert by_detector["email"] >= 2 and by_detector["key"] >= 1 and by_detector["sql"] == 1


def test_span_name_without_route_is_scrubbed_path(traced) -> None:
    tracer, sink, _ = traced
    with tracer.start_as_current_span("POST /patients/99812/notes?ssn=123-45-6789"):
        pass
    with tracer.start_as_current_span("send reminder to jane.roe@example.com"):
        pass
    assert [s.name for s in sink.get_finished_spans()] == ["POST /patients/{id}/notes", "send reminder to [EMAIL]"]


def test_dropped_attribute_counts_survive(traced) -> None:
    tracer, sink, _ = traced
    with tracer.start_as_current_span("many") as span:
        for i in range(25):
            span.set_attribute(f"k{i}", i)
    (exported,) = sink.get_finished_spans()
    assert exported.dropped_attributes == 5


class _Exploding(ReadableSpan):
    @property
    def attributes(self):  # type: ignore[override]
        raise RuntimeError("corrupt span")


def test_unscrubbable_span_is_dropped_and_counted_never_raised() -> None:
    sink = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    exporter = ScrubbingSpanExporter(sink, POLICY, MeterProvider(metric_readers=[reader]).get_meter("t"))
    good = ReadableSpan(name="ok", attributes={"a": "b"})
    assert exporter.export([_Exploding(name="bad"), good]) is SpanExportResult.SUCCESS
    assert [s.name for s in sink.get_finished_spans()] == ["ok"]
    (point,) = _metric_points(reader)["clinic.telemetry.dropped"]
    assert dict(point.attributes) == {"signal": "traces", "reason": "scrub_error"} and point.value == 1


class _Failing(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector down")

    def shutdown(self) -> None:
        pass


def test_inner_exporter_exception_becomes_failure() -> None:
    assert ScrubbingSpanExporter(_Failing(), POLICY).export([ReadableSpan(name="x")]) is SpanExportResult.FAILURE


def test_batch_processor_scrubs_in_export_thread() -> None:
    import threading

    seen_threads: list[str] = []

    class Recording(InMemorySpanExporter):
        def export(self, spans):
            seen_threads.append(threading.current_thread().name)
            return super().export(spans)

    sink = Recording()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(sink, POLICY), schedule_delay_millis=10))
    with provider.get_tracer("t").start_as_current_span("x") as span:
        span.set_attribute("msg", "ssn 123-45-6789")
    deadline = time.monotonic() + 10
    while not sink.get_finished_spans() and time.monotonic() < deadline:
        time.sleep(0.01)
    provider.shutdown()
    assert sink.get_finished_spans()[0].attributes["msg"] == "ssn [SSN]"
    assert seen_threads and threading.main_thread().name not in seen_threads


def test_log_records_body_attributes_and_exception() -> None:
    sink = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(ScrubbingLogExporter(sink, POLICY)))
    logger = logging.getLogger("test_scrub_logs")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    try:
        logger.warning("patient %s (MRN: %s) called from %s", "Jane Roe", "A7654321", "555-867-5309",
                       extra={"patient_email": "jane.roe@example.com", "clinic.ward": "ssn 123-45-6789"})
        try:
            raise KeyError("jane.roe@example.com")
        except KeyError:
            logger.exception("lookup failed for DOB: 1980-02-03")
        provider.get_logger("direct").emit(body={"patient": {"name": "Jane Roe"}, "msg": "ok 123-45-6789"})
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    records = [r.log_record for r in sink.get_finished_logs()]
    assert len(records) == 3
    dump = repr([(r.body, dict(r.attributes or {}), getattr(r, "exception", None)) for r in records])
    for canary in CANARIES:
        assert canary not in dump, canary
    assert records[0].body == "patient [NAME] (MRN: [MRN]) called from [PHONE]"
    assert records[0].attributes["patient_email"] == "[REDACTED]"
    assert records[1].attributes["exception.type"] == "KeyError"
    assert "exception.stacktrace" in records[1].attributes
    assert records[2].body == {"patient": "[REDACTED]", "msg": "ok [SSN]"}


def test_log_exporter_drops_unscrubbable_records() -> None:
    sink = InMemoryLogRecordExporter()
    exporter = ScrubbingLogExporter(sink, POLICY)

    class Broken:
        @property
        def log_record(self):
            raise RuntimeError("corrupt")

    from opentelemetry.sdk._logs.export import LogRecordExportResult

    assert exporter.export([Broken()]) is LogRecordExportResult.SUCCESS  # type: ignore[list-item]
    assert sink.get_finished_logs() == ()


def test_scrubbed_copies_encode_as_otlp_without_phi(traced) -> None:
    """What actually goes on the wire: the OTLP protobuf encoding of the scrubbed spans and logs."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    tracer, sink, _ = traced
    with tracer.start_as_current_span("GET /patients/123-45-6789/") as span:
        span.set_attribute("clinic.detail", "mail jane.roe@example.com")
        span.add_event("e", {"k": "call 555-867-5309"})
    wire = encode_spans(sink.get_finished_spans()).SerializeToString()
    assert b"[EMAIL]" in wire and b"[PHONE]" in wire
    for canary in ("123-45-6789", "jane.roe@example.com", "555-867-5309"):
        assert canary.encode() not in wire

    logs = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(ScrubbingLogExporter(logs, POLICY)))
    provider.get_logger("t").emit(body="DOB: 1980-02-03", attributes={"ssn": "123-45-6789", "n": 3})
    provider.shutdown()
    wire = encode_logs(logs.get_finished_logs()).SerializeToString()
    assert b"[DATE]" in wire and b"1980-02-03" not in wire and b"123-45-6789" not in wire
