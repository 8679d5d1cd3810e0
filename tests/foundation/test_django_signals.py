"""The Django signals, read back from in-memory exporters after real requests through the example app."""
import json

import pytest

import otel_clinic
from otel_clinic import testing
from tests.foundation.conftest import points, span_by_route


def test_span_named_by_route_template_without_raw_url_data(cap, client):
    response = client.get("/api/patients/4242/?ssn=078-05-1120", HTTP_COOKIE="session=abc", HTTP_AUTHORIZATION="Bearer t0k")
    assert response.status_code == 404
    span = span_by_route(cap.spans(), "api/patients/<int:pk>/")
    assert span.name == "GET api/patients/<int:pk>/"
    flat = json.dumps(dict(span.attributes)) + span.name
    for raw in ("4242", "078-05-1120", "ssn=", "abc", "t0k"):
        assert raw not in flat
    for key in ("url.query", "url.full", "url.path", "http.target", "http.url", "client.address", "user_agent.original"):
        assert key not in span.attributes


def test_unresolved_path_gets_method_only_name(cap, client):
    client.get("/no/such/patient/078-05-1120")
    names = [s.name for s in cap.spans()]
    assert "GET" in names
    assert not any("078-05-1120" in n for n in names)


@pytest.mark.parametrize(
    "method,path,body,route,status,category,severity",
    [
        ("get", "/api/patients/999999/", None, "api/patients/<int:pk>/", 404, "not_found", "normal"),
        ("get", "/api/rate-limited/", None, "api/rate-limited/", 429, "rate_limit", "normal"),
        ("get", "/api/timeout/", None, "api/timeout/", 500, "timeout", "critical"),
        ("get", "/api/boom/", None, "api/boom/", 500, "server_error", "critical"),
        ("get", "/api/records/1/", None, "api/records/<int:pk>/", 401, "authentication", "normal"),
        ("post", "/api/patients/", {"first_name": "x"}, "api/patients/", 400, "validation", "normal"),
        ("post", "/api/prescriptions/", {"patient_id": 1}, "api/prescriptions/", 500, "validation", "critical"),
        ("get", "/api/lab-results/3/", None, "api/lab-results/<int:pk>/", 502, "external_service", "critical"),
    ],
)
def test_category_and_severity_on_span_and_duration_metric(cap, client, method, path, body, route, status, category, severity):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    assert getattr(client, method)(path, **kwargs).status_code == status
    span = span_by_route(cap.spans(), route)
    assert span.attributes["error.category"] == category
    assert span.attributes["clinic.severity"] == severity
    assert span.attributes["error.type"]
    pts = points(cap, "http.server.request.duration", **{"http.route": route, "error.category": category})
    assert len(pts) == 1 and pts[0].count == 1
    assert pts[0].attributes["clinic.severity"] == severity
    assert pts[0].attributes["http.response.status_code"] == status


def test_conflict_from_integrity_error_status(cap, client):
    body = json.dumps({"mrn": "DUP-1", "first_name": "A", "last_name": "B"})
    client.post("/api/patients/", data=body, content_type="application/json")
    assert client.post("/api/patients/", data=body, content_type="application/json").status_code == 409
    assert points(cap, "http.server.request.duration", **{"error.category": "conflict", "http.route": "api/patients/"})


def test_success_has_no_category_and_latency_sets_severity(cap, client):
    client.get("/api/slow/?ms=120")
    client.get("/api/patients/")
    slow = span_by_route(cap.spans(), "api/slow/")
    assert slow.attributes["clinic.severity"] == "slow"
    assert "error.category" not in slow.attributes
    fast = points(cap, "http.server.request.duration", **{"http.route": "api/patients/"})[0]
    assert fast.attributes["clinic.severity"] == "normal" and "error.category" not in fast.attributes
    # semconv bucket edges in seconds, so an SLO on le="0.5" works
    assert 0.5 in fast.explicit_bounds and 0.1 in fast.explicit_bounds


def test_per_route_thresholds_from_config(client):
    with testing.capture(route_severity={"api/slow/": (10, 20, 5000)}) as cap:
        client.get("/api/slow/?ms=60")
        assert span_by_route(cap.spans(), "api/slow/").attributes["clinic.severity"] == "warning"


def test_excluded_paths_produce_no_spans_or_metrics(cap, client):
    client.get("/health/live")
    client.get("/api/patients/")
    routes = {s.attributes.get("http.route") for s in cap.spans()}
    assert routes == {"api/patients/"}
    assert not any(str(p.attributes.get("http.route", "")).startswith("health") for p in cap.metric_points("http.server.request.duration"))


def test_custom_excluded_paths(client):
    with testing.capture(excluded_paths="/api/rate-limited/") as cap:
        client.get("/api/rate-limited/")
        client.get("/health/live")
        routes = {s.attributes.get("http.route") for s in cap.spans()}
        assert "api/rate-limited/" not in routes
        assert any(r and r.startswith("health") for r in routes)


def test_query_count_per_request_reveals_n_plus_one(cap, client):
    for i in range(5):
        client.post("/api/patients/", data=json.dumps({"mrn": f"NP1-{i}", "first_name": "N", "last_name": f"P{i}"}),
                    content_type="application/json")
    from clinic.models import Appointment, Patient

    for p in Patient.objects.filter(mrn__startswith="NP1-"):
        Appointment.objects.get_or_create(patient=p, starts_at="2031-01-01T09:00:00+00:00")
    n = Appointment.objects.count()
    client.get("/api/appointments/report/")
    span = span_by_route(cap.spans(), "api/appointments/report/")
    assert span.attributes["clinic.db.query_count"] == 1 + min(n, 100)
    hist = points(cap, "clinic.db.queries_per_request", **{"http.route": "api/appointments/report/"})
    assert hist[0].sum == 1 + min(n, 100)
    assert span.attributes["clinic.db.duration_ms"] > 0
    db = points(cap, "db.client.operation.duration", **{"db.system.name": "sqlite", "db.operation.name": "SELECT"})
    assert db and db[0].count >= 1 + min(n, 100)


def test_slow_query_event_has_sql_with_literals_replaced(client):
    with testing.capture(slow_query_ms=0) as cap:
        client.get("/api/patients/by-mrn/MRN-55512345/")
        span = span_by_route(cap.spans(), "api/patients/by-mrn/<str:mrn>/")
        events = [e for e in span.events if e.name == "db.slow_query"]
        assert events, "slow query event missing"
        text = events[0].attributes["db.query.text"]
        assert "SELECT" in text and "?" in text and "MRN-55512345" not in text
        assert points(cap, "clinic.db.slow_queries")


def test_cache_hits_and_misses_by_alias(cap, client):
    from django.core.cache import cache

    cache.delete("lookup:cachetest")
    client.get("/api/cache/cachetest/")
    client.get("/api/cache/cachetest/")
    client.get("/api/cache/cachetest/")
    hits = points(cap, "clinic.cache.hits", **{"cache.alias": "default"})
    misses = points(cap, "clinic.cache.misses", **{"cache.alias": "default"})
    assert hits[0].value == 2 and misses[0].value == 1


def test_cache_instrumentation_keeps_default_semantics(cap):
    from django.core.cache import cache

    assert cache.get("absent-key", "fallback") == "fallback"
    cache.set("present", None)
    assert cache.get("present", "fallback") is None  # a stored None is a hit, not the default
    assert cache.get_many(["present", "absent"]) == {"present": None}


def test_decorators_and_business_metrics(cap):
    import time

    @otel_clinic.monitor_performance("fetch_patient_data", threshold_ms=1)
    def slow_op():
        time.sleep(0.005)
        return 7

    @otel_clinic.monitor_database_query("SELECT")
    def get_slots():
        return [1, 2]

    assert slow_op() == 7 and get_slots() == [1, 2]
    otel_clinic.record_patient_operation("create")
    otel_clinic.record_patient_operation("<script>")  # unbounded input collapses to "other"
    otel_clinic.record_appointment_booked("telehealth")
    otel_clinic.record_prescription_created(2)
    otel_clinic.user_logged_in()
    spans = {s.name: s for s in cap.spans()}
    assert spans["fetch_patient_data"].attributes["clinic.severity"] in ("warning", "critical")
    assert "db.select.get_slots" in spans
    assert points(cap, "clinic.operation.duration", **{"clinic.operation": "fetch_patient_data"})
    assert {p.attributes["clinic.operation"] for p in cap.metric_points("clinic.patient.operations")} == {"create", "other"}
    assert points(cap, "clinic.appointments.booked", **{"clinic.appointment.type": "telehealth"})[0].value == 1
    assert cap.metric_points("clinic.prescriptions.created")[0].value == 2
    assert cap.metric_points("clinic.users.active")[0].value == 1


def test_logs_bridge_and_json_stdout_carry_trace_context(cap, client):
    client.post("/api/patients/", data=json.dumps({"mrn": "LOG-1", "first_name": "L", "last_name": "G"}),
                content_type="application/json")
    span = span_by_route(cap.spans(), "api/patients/")
    trace_id = format(span.context.trace_id, "032x")
    records = [r for r in cap.logs() if r.log_record.attributes.get("code.function.name") == "patients" or "created patient" in str(r.log_record.body)]
    assert records and records[0].log_record.trace_id == span.context.trace_id
    lines = [l for l in cap.json_lines() if l.get("logger") == "clinic"]
    assert lines, cap.stdout.getvalue()[:500]
    line = lines[-1]
    assert line["trace_id"] == trace_id and line["span_id"]
    assert line["service"] == "clinic-api" and line["release"] == cap.handle.config.release
    assert line["level"] == "INFO" and "timestamp" in line


def test_no_exception_from_telemetry_reaches_the_request(cap, client, monkeypatch):
    from otel_clinic import instruments

    class Exploding:
        def __getattr__(self, name):
            raise RuntimeError("instrument bug")

    monkeypatch.setattr(instruments, "_current", Exploding())
    assert client.get("/api/patients/").status_code == 200


def test_active_requests_counts_in_flight_requests(cap):
    import threading

    from django.test import Client

    from otel_clinic.instruments import get_instruments

    seen = []
    original = get_instruments().active_requests.add

    def spy(delta, attrs):
        original(delta, attrs)
        if delta > 0:
            seen.append([p.value for p in cap.metric_points("http.server.active_requests")])

    get_instruments().active_requests.add = spy
    threads = [threading.Thread(target=lambda: Client().get("/api/slow/?ms=200")) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(max(v) for v in seen if v) >= 2  # requests overlapped: several in flight at once
    final = points(cap, "http.server.active_requests", **{"http.request.method": "GET"})
    assert final[0].value == 0


def test_scrubbing_redactions_are_counted_by_detector(cap, client):
    client.get("/api/patients/search/?name=Jane+Roe")
    client.get("/api/boom/?patient=Jane+Roe+SSN+078-05-1120")
    cap.spans()
    cap.logs()
    detectors = {p.attributes.get("detector") for p in cap.metric_points("clinic.scrub.redactions")}
    assert "ssn" in detectors or "ssn_shape" in detectors, detectors


def test_a_broken_log_call_never_raises_through_the_otel_bridge(cap):
    import logging

    bridge = next(h for h in cap.handle._logging.handlers if type(h).__name__ == "ClinicLoggingHandler")
    bad = logging.LogRecord("clinic", logging.ERROR, __file__, 1, "patient %s %s", ("only-one-arg",), None)
    bridge.handle(bad)  # getMessage() raises TypeError inside the handler; it must not escape
    bridge.handle(logging.LogRecord("clinic", logging.INFO, __file__, 1, "still logging", (), None))
    assert any("still logging" in str(r.log_record.body) for r in cap.logs())


def test_django_request_logs_name_the_route_not_the_raw_path(cap, client):
    client.get("/api/patients/by-mrn/JaneQuimbyDoe/")  # 404 from the view: logged by django.request
    client.get("/no/such/JaneQuimbyDoe/")
    bodies = [str(r.log_record.body) for r in cap.logs()] + [l.get("message", "") for l in cap.json_lines()]
    bodies = [b for b in bodies if b.startswith("Not Found")]  # the view itself logs the MRN it was given
    assert not any("JaneQuimbyDoe" in b for b in bodies), bodies
    assert any("/api/patients/by-mrn/<str:mrn>/" in b for b in bodies)
    assert any("Not Found: [path]" in b for b in bodies)


def test_json_formatter_fails_closed_when_the_scrubber_breaks():
    import logging

    from otel_clinic.integrations.logging import ClinicJsonFormatter

    class BrokenPolicy:
        def scrub(self, value):
            raise ValueError("scrubber bug")

    formatter = ClinicJsonFormatter(service="s", release="r", scrub_policy=BrokenPolicy())
    try:
        raise ValueError("patient SSN 078-05-1120")
    except ValueError:
        import sys

        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom %s", ("jane@example.org",), sys.exc_info())
    record.patient_email = "jane@example.org"
    line = json.loads(formatter.format(record))
    assert line["message"] == "[UNSCRUBBABLE]" and line["service"] == "s"
    assert "078-05-1120" not in json.dumps(line) and "jane@example.org" not in json.dumps(line)
    assert "T" in line["timestamp"]
