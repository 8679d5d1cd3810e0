"""ClinicDjangoInstrumentor and its middleware: one server span per request with only the attributes we keep,
context propagation, exclusions by path prefix, and a clean take-over of the stock DjangoInstrumentor."""

from __future__ import annotations

from django.conf import settings
from django.test import Client, override_settings
from opentelemetry import trace
from opentelemetry.instrumentation.django import DjangoInstrumentor

from otel_clinic import testing
from otel_clinic.integrations.django.instrumentation import MIDDLEWARE_PATH, ClinicDjangoInstrumentor

URLS = "tests.foundation.realapp_urls"
REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{REMOTE_TRACE}-00f067aa0ba902b7-01"


def _server_spans(cap):
    return [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER]


@override_settings(ROOT_URLCONF=URLS)
def test_server_span_keeps_only_bounded_request_attributes():
    with testing.capture(server_address="clinic.test") as cap:
        response = Client().get("/api/v1/patient/ext-1/?name=Jane+Doe", HTTP_USER_AGENT="Jane's phone",
                                REMOTE_ADDR="203.0.113.7", HTTP_HOST="jane-doe.example")
        assert response.status_code == 200
        (span,) = _server_spans(cap)
        attrs = dict(span.attributes)
        assert attrs["http.request.method"] == "GET" and attrs["http.response.status_code"] == 200
        assert attrs["url.scheme"] == "http" and attrs["server.address"] == "clinic.test"
        assert attrs["http.route"] == "api/v1/patient/{external_id}/" and attrs["clinic.severity"] == "normal"
        for key in ("url.full", "url.path", "url.query", "client.address", "user_agent.original", "http.target"):
            assert key not in attrs, key
        flat = repr(attrs)
        assert "Jane" not in flat and "203.0.113.7" not in flat and "jane-doe" not in flat and "ext-1" not in flat


@override_settings(ROOT_URLCONF=URLS)
def test_incoming_traceparent_is_continued_and_a_current_span_makes_it_internal():
    with testing.capture() as cap:
        assert Client().get("/", HTTP_TRACEPARENT=TRACEPARENT).status_code == 200
        (span,) = _server_spans(cap)
        assert format(span.context.trace_id, "032x") == REMOTE_TRACE and span.parent.is_remote
        cap.span_exporter.clear()
        with trace.get_tracer("test").start_as_current_span("outer") as outer:
            assert Client().get("/").status_code == 200
        inner = [s for s in cap.spans() if s.name == "GET /"]
        assert inner and inner[0].kind == trace.SpanKind.INTERNAL
        assert inner[0].parent.span_id == outer.get_span_context().span_id
        assert not trace.get_current_span().get_span_context().is_valid  # nothing left attached


@override_settings(ROOT_URLCONF=URLS)
def test_excluded_paths_get_no_span_and_no_metric():
    with testing.capture(excluded_paths="/api/v1/") as cap:
        assert Client().get("/api/v1/patient/").status_code == 200
        assert Client().get("/").status_code == 200
        assert [s.name for s in _server_spans(cap)] == ["GET /"]
        routes = {p.attributes.get("http.route") for p in cap.metric_points("http.server.request.duration")}
        assert routes == {"/"}


@override_settings(ROOT_URLCONF=URLS)
def test_a_stock_instrumentation_is_taken_over_one_server_span_per_request():
    DjangoInstrumentor().instrument()  # e.g. an earlier opentelemetry-instrument run without our distro
    try:
        with testing.capture() as cap:
            assert not DjangoInstrumentor().is_instrumented_by_opentelemetry
            assert settings.MIDDLEWARE.count(MIDDLEWARE_PATH) == 1
            assert Client().get("/").status_code == 200
            assert len(_server_spans(cap)) == 1
    finally:
        if DjangoInstrumentor().is_instrumented_by_opentelemetry:
            DjangoInstrumentor().uninstrument()


def test_instrument_twice_is_one_middleware_and_uninstrument_removes_it():
    from otel_clinic.config import load_config
    from otel_clinic.integrations.django.instrumentation import instrument_django, uninstrument_django

    config = load_config({})
    try:
        instrument_django(config, None)
        instrument_django(config, None)  # re-instrument (new hooks): undo, then install again
        assert settings.MIDDLEWARE.count(MIDDLEWARE_PATH) == 1
        assert ClinicDjangoInstrumentor().patches > 0
    finally:
        uninstrument_django()
    assert MIDDLEWARE_PATH not in settings.MIDDLEWARE and ClinicDjangoInstrumentor().patches == 0


@override_settings(ROOT_URLCONF=URLS)
def test_opt_in_request_header_capture_still_works(monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "x-request-id")
    with testing.capture() as cap:
        assert Client().get("/", HTTP_X_REQUEST_ID="req-42").status_code == 200
        (span,) = _server_spans(cap)
        assert span.attributes["http.request.header.x_request_id"] == ("req-42",)
        assert span.end_time is not None and not trace.get_current_span().get_span_context().is_valid
