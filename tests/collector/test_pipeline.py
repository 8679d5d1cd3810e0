"""Agent -> gateway -> backends with the real built collector, driven by an OTLP client (no app).

One traffic burst per session (module fixture) checks: tail sampling (all error and critical/slow traces
kept, ~10% of the rest), the Sentry route's auth header, PHI scrubbing by the agent alone, JSON-lines log
files with trace ids, metrics in Prometheus with promoted release/environment labels and the collectors'
own telemetry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from opentelemetry.trace import Status, StatusCode

from otel_clinic.audit import new_canaries, scan_files, scan_text
from otel_clinic.canaries import CanarySet
from tests.collector.otlp_client import OtlpClient
from tests.support.collector import wait_until

pytestmark = pytest.mark.e2e

NORMAL, ERRORS, CRITICAL, SLOW = 200, 8, 6, 4
RELEASE = "2.7.1"  # service.version of the client below; other suites share the stack, so filter on it


@dataclass
class Canaries:
    """Fresh audit canaries in the forms the agent's rendered policy knows (context words; free text is the
    in-process scrubber's job until the Collector has its own processor)."""

    canaries: CanarySet

    @classmethod
    def generate(cls) -> Canaries:
        return cls(new_canaries(channels=["log.percent"]))

    def _text(self, kind: str, form: str) -> str:
        return next(c.text for c in self.canaries.canaries if c.kind == kind and c.form == form)

    def _value(self, kind: str, form: str) -> str:
        return next(c.value for c in self.canaries.canaries if c.kind == kind and c.form == form)

    @property
    def ssn(self) -> str:
        return self._value("ssn", "context")

    @property
    def email(self) -> str:
        return self._value("email", "bare")

    @property
    def mrn(self) -> str:
        return "MRN" + self._value("mrn", "context")

    def sentence(self) -> str:
        name = next(c.text for c in self.canaries.canaries if c.kind == "name" and c.form.startswith("real-title"))
        return (f"patient {name} {self._text('ssn', 'context')} email {self.email} {self._text('mrn', 'context')} "
                f"{self._text('date', 'iso')} {self._text('phone', 'context')}")


# Traces the gateway's tail sampler has decided (kept or dropped), from its own telemetry.
TRACES_DECIDED = "otelcol_processor_tail_sampling_global_count_traces_sampled_total"


@dataclass
class Burst:
    canaries: Canaries
    error_ids: set[str]
    critical_ids: set[str]
    normal_ids: set[str]
    log_trace_ids: set[str]


@pytest.fixture(scope="module")
def burst(stack) -> Burst:
    canaries = Canaries.generate()
    decided_before = stack.gateway.self_metrics().get(TRACES_DECIDED, 0.0)
    client = OtlpClient.connect(stack.agent.otlp_grpc, {"service.version": RELEASE})
    tracer = client.tracer_provider.get_tracer("tests.collector")
    meter = client.meter_provider.get_meter("tests.collector")
    requests_total = meter.create_counter("clinic.patient.operations")
    duration = meter.create_histogram("http.server.request.duration", unit="s")
    error_ids, critical_ids, normal_ids, log_ids = set(), set(), set(), set()

    def trace(kind: str, i: int) -> str:
        with tracer.start_as_current_span("GET /api/patients/<int:pk>/") as span:
            span.set_attribute("http.route", "/api/patients/<int:pk>/")
            # PHI the in-process scrubber would have removed: the agent must catch it alone.
            span.set_attribute("url.full", f"http://clinic/api/patients/7/?ssn={canaries.ssn}&q={canaries.email}")
            span.set_attribute("url.query", f"ssn={canaries.ssn}")
            span.set_attribute("clinic.note", canaries.sentence())
            span.set_attribute("patient.ssn", canaries.ssn)
            with tracer.start_as_current_span("SELECT clinic_patient") as child:
                child.set_attribute(
                    "db.query.text", f"SELECT * FROM patient WHERE email = '{canaries.email}' AND mrn = {canaries.mrn[3:]}"
                )
            if kind == "error":
                exc = ValueError(f"bad patient {canaries.sentence()}")
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"ValueError: bad patient {canaries.sentence()}"))
                span.set_attribute("error.category", "server_error")
            elif kind in ("critical", "slow"):
                span.set_attribute("clinic.severity", kind)
            else:
                span.set_attribute("clinic.severity", "normal")
            if i % 10 == 0:
                client.logger.warning("lookup for %s failed: %s", canaries.email, canaries.sentence())
                log_ids.add(format(span.get_span_context().trace_id, "032x"))
            return format(span.get_span_context().trace_id, "032x")

    for i in range(NORMAL):
        normal_ids.add(trace("normal", i))
    for i in range(ERRORS):
        error_ids.add(trace("error", i))
    for i in range(CRITICAL):
        critical_ids.add(trace("critical", i))
    for i in range(SLOW):
        critical_ids.add(trace("slow", i))
    for route, status in (("/api/patients/", "200"), ("/api/patients/<int:pk>/", "500")):
        attrs = {"http.route": route, "http.response.status_code": status, "http.request.method": "GET"}
        requests_total.add(3, {"clinic.operation": "read"})
        duration.record(0.12, attrs)
    # A metric label carrying PHI (cardinality + leak) must be scrubbed by the agent before Prometheus.
    requests_total.add(1, {"clinic.operation": "search", "search.term": f"{canaries.email} {canaries.ssn}"})
    client.flush()
    # Tail sampling decides after decision_wait (2s in tests); the kept traces then go to the sink.
    wait_until(
        lambda: error_ids | critical_ids <= {format_trace_id(s.trace_id) for _, s in stack.sink.spans()},
        timeout=60,
        message="error/critical traces did not all reach the Sentry sink",
    )
    # The 10% baseline: wait until the tail sampler has decided every trace of the burst (kept or dropped).
    sent = len(normal_ids | error_ids | critical_ids)
    wait_until(lambda: stack.gateway.self_metrics().get(TRACES_DECIDED, 0.0) - decided_before >= sent, timeout=60,
               message="the tail sampler did not decide every trace of the burst")
    client.shutdown()
    return Burst(canaries, error_ids, critical_ids, normal_ids, log_ids)


def format_trace_id(raw: bytes) -> str:
    return raw.hex()


def test_tail_sampling_keeps_all_errors_and_critical_and_a_tenth_of_the_rest(stack, burst):
    kept = {format_trace_id(s.trace_id) for _, s in stack.sink.spans()}
    assert burst.error_ids <= kept
    assert burst.critical_ids <= kept
    normal_kept = len(burst.normal_ids & kept)
    # 10% of 200 by trace-id hash: expect ~20; bounds are > 6 sigma wide.
    assert 2 <= normal_kept <= 60, normal_kept
    # Whole traces are kept: each kept trace has its child DB span too.
    per_trace: dict[str, int] = {}
    for res, span in stack.sink.spans():
        per_trace[format_trace_id(span.trace_id)] = per_trace.get(format_trace_id(span.trace_id), 0) + 1
    assert all(per_trace[t] >= 2 for t in burst.error_ids)


def test_sentry_route_sends_auth_header_from_the_dsn_key(stack, burst):
    reqs = stack.sink.trace_requests()
    assert reqs
    assert {r.headers.get("x-sentry-auth") for r in reqs} == {f"sentry sentry_key={stack.sentry_key}"}
    assert all(r.headers.get("content-type") == "application/x-protobuf" for r in reqs)


def test_agent_alone_scrubs_phi_from_traces_and_logs(stack, burst):
    findings = scan_text(stack.sink.raw_bytes().decode("utf-8", "replace"), burst.canaries.canaries, "sink", "otlp")
    findings += scan_files([stack.log_dir], burst.canaries.canaries)
    assert findings == [], "\n".join(map(str, findings))
    # Scrubbed, not dropped: the spans still carry the (redacted) attributes and the SQL shape.
    spans = [s for res, s in stack.sink.spans() if res.get("service.version") == RELEASE]
    statements = [a.value.string_value for s in spans for a in s.attributes if a.key == "db.query.text"]
    assert statements and all("WHERE email = ? AND mrn = ?" in q for q in statements), statements[:3]
    # The status message (exception text) is scrubbed by the policy's patterns, not dropped.
    messages = {s.status.message for s in spans if s.status.code == 2}
    assert messages and all(m.startswith("ValueError: bad patient") for m in messages), messages
    # Keys that name PHI are masked whatever their value looks like.
    ssn_values = {a.value.string_value for s in spans for a in s.attributes if a.key == "patient.ssn"}
    assert ssn_values == {"[REDACTED]"}, ssn_values  # the policy's placeholder, as in the app


def test_logs_land_in_rotating_json_lines_files_with_trace_ids(stack, burst):
    def records():
        out = []
        for path in sorted(stack.log_dir.glob("logs*.jsonl")):
            for line in path.read_text().splitlines():
                doc = json.loads(line)  # one OTLP-JSON object per line
                for rl in doc["resourceLogs"]:
                    for sl in rl["scopeLogs"]:
                        out.extend(sl["logRecords"])
        return out

    recs = wait_until(lambda: [r for r in records() if r.get("traceId") in burst.log_trace_ids], timeout=30)
    assert {r["traceId"] for r in recs} == burst.log_trace_ids
    assert all(r["body"]["stringValue"].startswith("lookup for ") for r in recs)


def test_metrics_reach_prometheus_with_promoted_release_and_environment_labels(stack, burst):
    prom = stack.prometheus
    series = wait_until(
        lambda: prom.query(f'clinic_patient_operations_total{{job="clinic/clinic-api", service_version="{RELEASE}"}}'), timeout=60
    )
    labels = series[0]["metric"]
    assert labels["service_version"] == RELEASE
    assert labels["deployment_environment_name"] == "staging"
    hist = wait_until(
        lambda: prom.query(
            f'http_server_request_duration_seconds_count{{http_route="/api/patients/<int:pk>/", service_version="{RELEASE}"}}'
        ),
        timeout=30,
    )
    assert hist[0]["metric"]["http_response_status_code"] == "500"
    # The PHI-bearing label value was scrubbed by the agent before it became a series.
    assert "read" in prom.label_values("clinic_operation")
    terms = wait_until(lambda: prom.label_values("search_term"), timeout=30)
    assert terms and not scan_text(json.dumps(terms), burst.canaries.canaries, "prometheus", "search_term"), terms


def test_collectors_own_telemetry_is_scraped(stack, burst):
    prom = stack.prometheus
    def accepted() -> dict[str, float] | None:
        rows = prom.query('sum by (job) (otelcol_receiver_accepted_spans_total)')
        jobs = {r["metric"]["job"]: float(r["value"][1]) for r in rows}
        return jobs if min(jobs.get("otelcol-agent", 0), jobs.get("otelcol-gateway", 0)) >= NORMAL + ERRORS else None

    # Polled until both collectors' scrapes carry the burst (each job is scraped on its own schedule).
    jobs = wait_until(accepted, timeout=30, message="agent/gateway accepted-span counts not scraped")
    assert jobs.get("otelcol-agent", 0) >= NORMAL + ERRORS
    assert jobs.get("otelcol-gateway", 0) >= NORMAL + ERRORS
    assert prom.query("otelcol_exporter_queue_size")
