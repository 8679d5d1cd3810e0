"""Metric views: only allowlisted attribute keys become labels, for every instrument kind."""

from __future__ import annotations

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_clinic.scrubbing import ScrubPolicy, metric_views


def _collect(policy: ScrubPolicy) -> dict[str, list[dict]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=metric_views(policy))
    meter = provider.get_meter("test")
    bad = {"patient.email": "jane.roe@example.com", "http.target": "/patients/123-45-6789/", "user_id": "42"}
    meter.create_histogram("http.server.request.duration", unit="s").record(
        0.2, {"http.route": "patients/<int:pk>/", "http.request.method": "GET", "http.response.status_code": 200, **bad}
    )
    meter.create_counter("clinic.patient.operations").add(1, {"clinic.operation": "read", **bad})
    meter.create_up_down_counter("http.server.active_requests").add(1, {"http.request.method": "GET", **bad})
    meter.create_observable_gauge(
        "clinic.health.status", callbacks=[lambda options: [Observation(1, {"check": "database", **bad})]]
    )
    meter.create_counter("third.party.counter").add(1, bad)
    data = reader.get_metrics_data()
    out: dict[str, list[dict]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = [dict(p.attributes) for p in metric.data.data_points]
    provider.shutdown()
    return out


def test_only_allowlisted_keys_survive_on_every_instrument() -> None:
    points = _collect(ScrubPolicy.default())
    assert points["http.server.request.duration"] == [
        {"http.route": "patients/<int:pk>/", "http.request.method": "GET", "http.response.status_code": 200}
    ]
    assert points["clinic.patient.operations"] == [{"clinic.operation": "read"}]
    assert points["http.server.active_requests"] == [{"http.request.method": "GET"}]
    assert points["clinic.health.status"] == [{"check": "database"}]
    assert points["third.party.counter"] == [{}]  # unknown instrument: fail closed, no labels at all


def test_policy_can_allow_more_metric_keys() -> None:
    points = _collect(ScrubPolicy.default().with_metric_attribute_keys(["user_id"]))
    assert points["third.party.counter"] == [{"user_id": "42"}]
