"""Tail sampling, tier by tier, through the real gateway binary (otelcol-gateway.yaml as shipped).

The probabilistic baseline is set to 0 % so every kept trace was kept by a policy: errors, each non-normal
clinic.severity (slow, warning, critical), and slow traces that carry no clinic.severity. Span durations are
set through explicit start/end timestamps (no sleeping). Kept traces are read where the gateway sends them
(the Sentry OTLP route, an OtlpSink here).
"""

from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from tests.collector.otlp_client import OtlpClient
from tests.support.collector import OtlpSink, collector, gateway_env, wait_until

pytestmark = pytest.mark.e2e

MS = 1_000_000  # nanoseconds
PER_TIER = 3

# tier -> (clinic.severity or None, duration ms, error status, kept?)
TIERS = {
    "normal": ("normal", 20, False, False),
    # A route whose thresholds were raised (OTEL_CLINIC_ROUTE_THRESHOLDS): slow by the clock, normal for it.
    "normal-raised-threshold": ("normal", 400, False, False),
    "slow": ("slow", 150, False, True),
    "warning": ("warning", 700, False, True),
    "critical": ("critical", 2500, False, True),
    "critical-5xx-fast": ("critical", 15, False, True),
    "error": ("normal", 20, True, True),
    "unclassified-fast": (None, 20, False, False),
    "unclassified-slow": (None, 150, False, True),
    # A handled exception or error log reported to Sentry in a 200/4xx request: otel_clinic stamps the event id.
    "sentry-event": ("normal", 20, False, True),
}


def _send(client: OtlpClient) -> dict[str, set[str]]:
    tracer = client.tracer_provider.get_tracer("tests.tail_sampling")
    ids: dict[str, set[str]] = {tier: set() for tier in TIERS}
    now = time.time_ns()
    for tier, (severity, duration_ms, error, _kept) in TIERS.items():
        for i in range(PER_TIER):
            start = now - duration_ms * MS
            root = tracer.start_span(f"GET api/{tier}/", start_time=start)
            if severity is not None:
                root.set_attribute("clinic.severity", severity)
            if error:
                root.set_status(Status(StatusCode.ERROR))
            if tier == "sentry-event":
                root.set_attribute("sentry.event_id", f"{i:032x}")
            with trace.use_span(root, end_on_exit=False):
                child = tracer.start_span("SELECT clinic_patient", start_time=start + MS)
                child.end(end_time=start + 2 * MS)
            root.end(end_time=now)
            ids[tier].add(format(root.get_span_context().trace_id, "032x"))
    return ids


def test_every_severity_tier_and_errors_are_kept_and_normal_traces_are_not(otelcol_bin):
    with OtlpSink(path_prefix="/api/1/integration/otlp") as sink, collector(
        "gateway",
        gateway_env(sentry_endpoint=sink.base_url, sentry_key="k", remote_write_url="http://127.0.0.1:9/api/v1/write",
                    OTELCOL_TAIL_DECISION_WAIT="1s", OTELCOL_TAIL_SAMPLE_PERCENT="0"),
    ) as gateway:
        client = OtlpClient.connect(gateway.otlp_grpc, {"service.version": "tail-sampling"})
        ids = _send(client)
        client.shutdown()

        def received() -> set[str]:
            return {s.trace_id.hex() for _, s in sink.spans()}

        expected = set().union(*(ids[t] for t, spec in TIERS.items() if spec[3]))
        try:
            wait_until(lambda: expected <= received(), timeout=60)
        except TimeoutError:
            got = received()
            pytest.fail(f"tiers not kept: {sorted(t for t in TIERS if TIERS[t][3] and not ids[t] <= got)}")
        # Absence means something only once every trace was decided (kept or dropped) and the kept ones arrived.
        sent = sum(len(v) for v in ids.values())
        wait_until(lambda: gateway.self_metrics().get(
            "otelcol_processor_tail_sampling_global_count_traces_sampled_total", 0.0) >= sent, timeout=30)
        wait_until(lambda: expected <= received(), timeout=30)
        got = received()
        kept = {tier: len(ids[tier] & got) for tier in TIERS}
        assert kept == {tier: PER_TIER if spec[3] else 0 for tier, spec in TIERS.items()}
        # Whole traces: the child span of each kept trace came along.
        per_trace: dict[str, int] = {}
        for _, span in sink.spans():
            per_trace[span.trace_id.hex()] = per_trace.get(span.trace_id.hex(), 0) + 1
        assert all(per_trace[t] == 2 for t in expected)
