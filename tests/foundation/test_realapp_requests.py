"""Real-app request shapes: exceptions that escape Django, DRF-style regex routes, the root route,
DisallowedHost, 404 logs after the span ended."""
import pytest
from django.test import Client, override_settings
from opentelemetry import trace

from tests.foundation.conftest import points

URLS = "tests.foundation.realapp_urls"


def _server_spans(spans):
    return [s for s in spans if s.kind == trace.SpanKind.SERVER]


@override_settings(ROOT_URLCONF=URLS)
def test_exception_escaping_django_ends_span_records_500_and_detaches(cap):
    client = Client(raise_request_exception=False)
    with pytest.raises(ValueError):
        client.get("/boom/?name=Jane")
    assert not trace.get_current_span().get_span_context().is_valid  # nothing left attached to this thread
    assert client.get("/").status_code == 200
    spans = cap.spans()
    failed = [s for s in spans if s.attributes.get("http.route") == "boom/"]
    assert len(failed) == 1
    failed = failed[0]
    assert failed.name == "GET boom/"
    assert failed.status.status_code == trace.StatusCode.ERROR
    assert failed.attributes["error.category"] == "server_error"
    assert failed.attributes["clinic.severity"] == "critical"
    assert failed.kind == trace.SpanKind.SERVER and failed.parent is None
    # the next request is a new root span, not a child of the failed one
    home = [s for s in spans if s.attributes.get("http.route") == "/"]
    assert len(home) == 1 and home[0].parent is None and home[0].kind == trace.SpanKind.SERVER
    assert home[0].context.trace_id != failed.context.trace_id
    pts = points(cap, "http.server.request.duration", **{"http.route": "boom/", "http.response.status_code": 500})
    assert len(pts) == 1 and pts[0].count == 1
    active = [p for p in cap.metric_points("http.server.active_requests")]
    assert active and all(p.value == 0 for p in active)


@override_settings(ROOT_URLCONF=URLS)
@pytest.mark.parametrize(
    "path,route",
    [
        ("/api/v1/patient/ext-078051120/", "api/v1/patient/{external_id}/"),
        ("/api/v1/patient/ext-078051120.json", "api/v1/patient/{external_id}/"),
        ("/api/v1/patient/ext-078051120.json/", "api/v1/patient/{external_id}/"),
        ("/api/v1/patient/", "api/v1/patient/"),
        ("/api/v1/patient.json", "api/v1/patient/"),
        ("/legacy/42/abc/", "legacy/{pk}/{}/"),
    ],
)
def test_regex_routes_named_by_readable_template(cap, path, route):
    assert Client().get(path).status_code == 200
    (span,) = _server_spans(cap.spans())
    assert span.attributes["http.route"] == route
    assert span.name == f"GET {route}"
    for raw in ("078051120", "(?P", "^", "$", "json", "42"):
        assert raw not in span.name
    (pt,) = cap.metric_points("http.server.request.duration")
    assert pt.attributes["http.route"] == route


@override_settings(ROOT_URLCONF=URLS)
def test_root_route_named_and_not_merged_with_unmatched_404(cap):
    client = Client()
    assert client.get("/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    root, unmatched = _server_spans(cap.spans())
    assert root.name == "GET /" and root.attributes["http.route"] == "/"
    assert unmatched.name == "GET" and "http.route" not in unmatched.attributes
    assert points(cap, "http.server.request.duration", **{"http.route": "/", "http.response.status_code": 200})


@override_settings(ROOT_URLCONF=URLS, ALLOWED_HOSTS=["clinic.example"])
def test_disallowed_host_gets_span_and_metric_without_the_host(cap):
    response = Client().get("/?q=x", HTTP_HOST="jane-doe.attacker.example")
    assert response.status_code == 400
    (span,) = _server_spans(cap.spans())
    assert span.name == "GET"
    assert span.attributes["error.category"]
    flat = repr(dict(span.attributes))
    assert "jane-doe" not in flat and "attacker" not in flat
    pts = points(cap, "http.server.request.duration", **{"http.response.status_code": 400})
    assert len(pts) == 1
    # the django.security.DisallowedHost record is logged inside the request's trace
    records = [r for r in cap.logs() if "HTTP_HOST" in str(r.log_record.body)]
    assert records and records[0].log_record.trace_id == span.context.trace_id


@override_settings(ROOT_URLCONF=URLS)
def test_django_request_404_record_carries_the_trace_id(cap):
    assert Client().get("/no/such/page/?name=Jane").status_code == 404
    (span,) = _server_spans(cap.spans())
    notfound = [r for r in cap.logs() if "Not Found" in str(r.log_record.body)]
    assert notfound, [str(r.log_record.body) for r in cap.logs()]
    assert notfound[0].log_record.trace_id == span.context.trace_id
    lines = [line for line in cap.json_lines() if "Not Found" in line["message"]]
    assert lines and lines[0]["trace_id"] == format(span.context.trace_id, "032x")
    assert "Jane" not in repr(lines) and "/no/such" not in repr(lines)


@override_settings(ROOT_URLCONF=URLS)
def test_method_not_allowed_is_a_routing_miss_not_validation(cap):
    assert Client().get("/post-only/").status_code == 405
    (span,) = _server_spans(cap.spans())
    assert span.attributes["http.route"] == "post-only/"
    assert span.attributes["error.category"] == "not_found"


def test_patches_are_undone_on_shutdown():
    import django.utils.log as django_log
    from django.conf import settings

    from otel_clinic import testing
    from otel_clinic.integrations.django.instrumentation import MIDDLEWARE_PATH

    before_configure = django_log.configure_logging
    with testing.capture():
        assert MIDDLEWARE_PATH in settings.MIDDLEWARE
        assert django_log.configure_logging is not before_configure
    assert MIDDLEWARE_PATH not in settings.MIDDLEWARE
    assert django_log.configure_logging is before_configure
