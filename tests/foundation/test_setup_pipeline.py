"""setup() as a whole: idempotency, fail-open exporters, Sentry, deployments, in-process Prometheus."""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import Client

import otel_clinic
from otel_clinic import ConfigError, testing
from tests.foundation.conftest import points, span_by_route


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_setup_is_idempotent_and_returns_the_same_handle():
    with testing.capture() as cap:
        assert otel_clinic.setup() is cap.handle
        assert otel_clinic.setup(service_name="other") is cap.handle
        assert otel_clinic.get_telemetry() is cap.handle
    assert otel_clinic.get_telemetry() is None


def test_bad_environment_fails_setup_with_the_variable_named(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        otel_clinic.setup()
    assert otel_clinic.get_telemetry() is None


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_unreachable_collector_never_hurts_requests_and_drops_are_counted(monkeypatch, protocol):
    port = _closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    # Without the retry buffer, failed batches are dropped at once (and counted).
    with testing.capture(traces_exporters="otlp", otlp_endpoint=endpoint, otlp_protocol=protocol,
                         retry_buffer_size=0) as cap:
        client = Client(raise_request_exception=False)
        for _ in range(20):
            assert client.get("/api/patients/").status_code == 200
        cap.handle.tracer_provider.force_flush(5000)
        dropped = points(cap, "clinic.telemetry.dropped", signal="traces", reason="export_failed")
        assert dropped and dropped[0].value >= 20
        # the in-memory exporter beside the dead one still got everything
        assert len([s for s in cap.spans() if s.attributes.get("http.route") == "api/patients/"]) == 20


class _OtlpRecorder(BaseHTTPRequestHandler):
    paths: list = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_otlp_endpoint_keyword_reaches_the_configured_collector():
    _OtlpRecorder.paths = []
    server = HTTPServer(("127.0.0.1", 0), _OtlpRecorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        with testing.capture(traces_exporters="otlp", logs_exporters="otlp", otlp_endpoint=endpoint) as cap:
            Client().get("/api/patients/")
            cap.flush()
            assert "/v1/traces" in _OtlpRecorder.paths
            assert not points(cap, "clinic.telemetry.dropped", reason="export_failed")
    finally:
        server.shutdown()


def test_resource_carries_release_environment_and_instance():
    with testing.capture(release="9.9.9", environment="staging") as cap:
        Client().get("/api/patients/")
        resource = cap.spans()[0].resource.attributes
        assert resource["service.version"] == "9.9.9"
        assert resource["deployment.environment.name"] == "staging"
        assert resource["service.name"] == "clinic-api" and resource["service.namespace"] == "clinic"
        assert len(resource["service.instance.id"]) == 36
        assert otel_clinic.current_release().version == "9.9.9"


def test_sampler_from_environment(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    with testing.capture() as cap:
        Client().get("/api/patients/")
        assert cap.spans() == []
        assert points(cap, "http.server.request.duration", **{"http.route": "api/patients/"})  # metrics still recorded


def test_in_process_prometheus_endpoint_serves_semconv_names():
    with testing.capture(prometheus_enabled=True) as cap:
        client = Client()
        client.get("/api/rate-limited/")
        body = client.get("/metrics").content.decode()
        assert "http_server_request_duration_seconds_bucket" in body
        assert 'error_category="rate_limit"' in body and 'clinic_severity="normal"' in body
        assert 'http_route="api/rate-limited/"' in body
    with testing.capture():
        assert Client().get("/metrics").status_code == 404


class _Recorder(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).requests.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_api():
    _Recorder.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", _Recorder.requests
    server.shutdown()


def test_track_deployment_creates_sentry_release_and_deploy_and_metrics(sentry_api):
    url, recorded = sentry_api
    with testing.capture(sentry_url=url, sentry_auth_token="tok-123", sentry_org="clinic org", sentry_project="api") as cap:
        result = otel_clinic.track_deployment("2.0.1", "production", "devops@clinic.example", "Fixed N+1 in appointments")
        assert result.sentry_release_created and result.sentry_deploy_created and not result.sentry_errors
        (rel_path, rel_headers, rel_body), (dep_path, _, dep_body) = recorded
        assert rel_path == "/api/0/organizations/clinic%20org/releases/"
        assert rel_headers["Authorization"] == "Bearer tok-123"
        assert rel_body["version"] == "2.0.1" and rel_body["projects"] == ["api"]
        assert dep_path == "/api/0/organizations/clinic%20org/releases/2.0.1/deploys/"
        assert dep_body["environment"] == "production"
        info = points(cap, "clinic.deployment", **{"service.version": "2.0.1", "deployment.environment.name": "production"})
        assert info and info[0].value == 1
        ts = points(cap, "clinic.deployment.timestamp", **{"service.version": "2.0.1"})
        assert abs(ts[0].value - result.timestamp) < 1
        assert any(r.log_record.attributes.get("event.name") == "clinic.deployment" or "deployment 2.0.1" in str(r.log_record.body)
                   for r in cap.logs())


def test_track_deployment_reports_sentry_failure_without_raising():
    port = _closed_port()
    with testing.capture(sentry_url=f"http://127.0.0.1:{port}/", sentry_auth_token="t", sentry_org="o", sentry_project="p"):
        result = otel_clinic.track_deployment("2.0.2", "staging")
        assert not result.sentry_release_created and len(result.sentry_errors) == 2


def test_track_deployment_management_command(sentry_api, monkeypatch):
    from django.core.management import call_command
    from io import StringIO

    url, recorded = sentry_api
    for var, value in {"SENTRY_URL": url, "SENTRY_AUTH_TOKEN": "t", "SENTRY_ORG": "o", "SENTRY_PROJECT": "p",
                       "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}.items():
        monkeypatch.setenv(var, value)
    out = StringIO()
    try:
        call_command("track_deployment", "--release", "3.1.0", "--environment", "production", stdout=out)
    finally:
        handle = otel_clinic.get_telemetry()
        if handle:
            handle.shutdown()
    assert json.loads(out.getvalue())["sentry_deploy_created"] is True
    assert [r[0] for r in recorded] == ["/api/0/organizations/o/releases/", "/api/0/organizations/o/releases/3.1.0/deploys/"]


def test_queue_full_drops_are_counted_and_requests_do_not_block():
    import time

    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    release = threading.Event()

    class StuckExporter(SpanExporter):
        def export(self, spans):
            release.wait(10)  # a hung backend
            return SpanExportResult.SUCCESS

    with testing.capture(bsp_max_queue_size=4, bsp_max_export_batch_size=1, bsp_schedule_delay_ms=1) as cap:
        from otel_clinic.providers import CountingBatchSpanProcessor

        cap.handle.tracer_provider.add_span_processor(
            CountingBatchSpanProcessor(StuckExporter(), cap.handle.providers.drops, max_queue_size=4,
                                       max_export_batch_size=1, schedule_delay_millis=1)
        )
        tracer = trace.get_tracer("t")
        started = time.perf_counter()
        for i in range(50):
            with tracer.start_as_current_span(f"s{i}"):
                pass
        elapsed = time.perf_counter() - started
        release.set()
        assert elapsed < 2.0  # emitting never waited for the stuck exporter
        dropped = points(cap, "clinic.telemetry.dropped", signal="traces", reason="queue_full")
        assert dropped and dropped[0].value >= 40


def test_prometheus_port_serves_metrics_and_is_closed_on_shutdown():
    import urllib.request

    port = _closed_port()
    with testing.capture(prometheus_port=port) as cap:
        Client().get("/api/rate-limited/")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'http_route="api/rate-limited/"' in body
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_prometheus_port_in_use_is_a_warning_not_a_crash(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with testing.capture(prometheus_port=port) as cap:
            assert Client().get("/api/patients/").status_code == 200
            assert cap.handle.providers.prometheus_server is None
            assert Client().get("/metrics").status_code == 200  # the Django view still serves this process
        assert "OTEL_CLINIC_PROMETHEUS_PORT" in caplog.text


def test_setup_after_shutdown_says_why_global_spans_are_lost(caplog):
    first = otel_clinic.setup(traces_exporters="none", metrics_exporters="none", logs_exporters="none", log_format="none")
    first.shutdown()
    second = otel_clinic.setup(traces_exporters="none", metrics_exporters="none", logs_exporters="none", log_format="none")
    try:
        assert second is not first
        assert "called again after shutdown()" in caplog.text
    finally:
        second.shutdown()
